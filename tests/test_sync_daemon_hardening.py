"""The daemon stands up to a hostile local machine: bad owner records, a reused PID
without a start time, idle connections, secrets in tracebacks, absurd protocol headers."""

from __future__ import annotations

import json
import logging
import socket
import stat
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from spec_kitty.core.sync import protocol
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import client, launcher, logs, owner, server


def _record(**changes: object) -> owner.OwnerRecord:
    base = owner.new_record(port=9400, server_url="http://127.0.0.1:1", user="a@x.test",
                            team_slug="t", auth_scope="k", queue_path="/q.db")
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [("pid", 0), ("pid", -1), ("pid", 1),
                                              ("pid", 2**70), ("port", 0), ("port", 70000)])
def test_owner_record_out_of_range_is_refused_naming_the_field(
        tmp_path: Path, field: str, value: int) -> None:
    paths = RuntimePaths(tmp_path)
    owner.write(paths, _record())
    data = json.loads(owner.owner_file(paths).read_text())
    data[field] = value
    owner.owner_file(paths).write_text(json.dumps(data))
    with pytest.raises(owner.OwnerRecordError, match=f"'{field}' is out of range"):
        owner.read(paths)


def test_a_pid_without_a_start_time_is_never_killed(tmp_path: Path) -> None:
    """No /proc start time recorded: the PID may belong to anyone by now."""
    paths = RuntimePaths(tmp_path)
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        record = _record(pid=bystander.pid, process_start=None)
        owner.write(paths, record)
        assert not launcher.stop(paths, record, timeout=0.1, unresponsive=True)
        assert bystander.poll() is None  # still running
    finally:
        bystander.kill()
        bystander.wait()


def test_idle_connections_are_dropped_and_health_answers_again(tmp_path: Path) -> None:
    api = server.bind("t0ken", lambda: {"ok": True}, lambda: None, lambda: None,
                      ports=range(9450, 9500))
    server.serve_in_thread(api)
    port = api.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(server.MAX_CONNECTIONS + 8)]
    try:
        # Every idle socket is closed by the server (timeout, or no free slot): recv
        # returns b"" rather than blocking forever.
        for sock in idle:
            sock.settimeout(60)
            assert sock.recv(1) == b""
        deadline = time.monotonic() + 60
        while True:
            try:
                assert client.health(port, timeout=5)["ok"] is True
                break
            except client.DaemonUnreachable:
                assert time.monotonic() < deadline, "health never answered again"
                time.sleep(0.1)
    finally:
        for sock in idle:
            sock.close()
        api.shutdown()
        api.server_close()


def test_tracebacks_are_masked_and_the_log_is_private(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    owner.daemon_dir(paths).mkdir(parents=True)
    log = logs.setup(paths, ["control-t0ken-123"])
    try:
        raise RuntimeError("refused: Bearer sk_live_SECRET and control-t0ken-123")
    except RuntimeError:
        log.exception("drain failed")
    for handler in log.handlers:
        handler.flush()
    text = logs.log_file(paths).read_text()
    assert "RuntimeError" in text and "drain failed" in text
    assert "sk_live_SECRET" not in text and "control-t0ken-123" not in text
    assert text.count("[redacted]") >= 2
    assert stat.S_IMODE(logs.log_file(paths).stat().st_mode) == 0o600
    logging.getLogger(logs.LOGGER).handlers.clear()


def test_an_absurd_protocol_header_is_unparseable_not_a_crash() -> None:
    assert protocol.verdict("9" * 5000) == protocol.UNPARSEABLE
    assert protocol.verdict("2.0") is None
