"""A hung daemon (process alive, API silent; here stopped with SIGSTOP) is never treated
as healthy: ``start`` and ``ensure`` report it as ``unresponsive``, ``status`` and
``doctor`` name it, ``stop`` kills it after a short grace and removes its records."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon_helpers import daemon_pids, record, wait_for
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon.owner import process_gone
from test_sync_daemon_process import runtime, sk  # noqa: F401 - the fixture

from helpers import parse_one_json, run_cli


@pytest.fixture
def hung(runtime: Path, tmp_path: Path) -> Iterator[int]:  # noqa: F811
    pid = int(sk(tmp_path, "start")["pid"])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)


def test_a_stopped_daemon_is_reported_and_stop_kills_it(
        runtime: Path, tmp_path: Path, hung: int) -> None:  # noqa: F811
    from spec_kitty.sync.daemon.policy import DaemonIntent, ensure_sync_daemon_running

    before = record(runtime)
    assert before is not None and before.pid == hung
    proc = run_cli(["sync", "daemon", "start", "--json"], tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    answer = parse_one_json(proc.stdout)
    assert answer["error_code"] == "DAEMON_NOT_STARTED"
    assert answer["skipped_reason"] == "unresponsive" and str(hung) in answer["error"]
    result = ensure_sync_daemon_running(DaemonIntent.REMOTE_REQUIRED,
                                        paths=RuntimePaths(runtime))
    assert (result.started, result.skipped_reason, result.pid) == (False, "unresponsive",
                                                                  hung)
    assert daemon_pids(runtime) == [hung]  # nothing new was started next to it
    status = sk(tmp_path, "status")
    assert status["state"] == "unresponsive" and status["running"] is False
    assert status["pid"] == hung
    text = run_cli(["sync", "daemon", "status"], tmp_path).stdout
    assert "UNRESPONSIVE" in text and "sync daemon stop" in text
    doctor = run_cli(["sync", "doctor", "--json"], tmp_path)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    daemon = [f for f in parse_one_json(doctor.stdout)["findings"] if f["check"] == "daemon"]
    assert [f["severity"] for f in daemon] == ["error"]
    assert "does not answer" in daemon[0]["message"] and str(hung) in daemon[0]["message"]
    assert "sync daemon stop" in daemon[0]["fix"]
    stopped = sk(tmp_path, "stop")
    assert stopped == {"result": "stopped", "pid": hung, "unresponsive": True}
    assert process_gone(hung, before.process_start) and record(runtime) is None
    fresh = sk(tmp_path, "start")  # and the next start gets a healthy one
    assert fresh["started"] and fresh["pid"] != hung
    wait_for(lambda: daemon_pids(runtime) == [fresh["pid"]], "one healthy daemon")
