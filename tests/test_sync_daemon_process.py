"""The daemon as a real process (no hub needed): started by the CLI, its loopback API and
token, one per runtime root, crash recovery, idle retirement, backoff (version drift
between two real installs: test_sync_daemon_drift.py).

The session is a local stand-in pointing at a port where nothing listens, so drains fail
(and back off) while everything else is real. Waits poll a condition with generous bounds.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auth_helpers import sample_session
from daemon_helpers import Daemons, daemon_pids, log_text, record, wait_for
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import client
from spec_kitty.sync.daemon.owner import daemon_dir, process_gone
from spec_kitty.sync.daemon.settings import PORT_RANGE

from helpers import CLI, parse_one_json, run_cli

HUB = "http://127.0.0.1:9"


@pytest.fixture
def runtime(daemons: Daemons, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = daemons.watch(tmp_path / "runtime")
    SessionStore(RuntimePaths(root)).save(sample_session(HUB))
    monkeypatch.setenv("SPEC_KITTY_HOME", str(root))
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    monkeypatch.setenv("SPEC_KITTY_SAAS_URL", HUB)
    return root


def sk(cwd: Path, *args: str, ok: int = 0, env: dict[str, str] | None = None
       ) -> dict[str, Any]:
    proc = run_cli(["sync", "daemon", *args, "--json"], cwd, env=env)
    assert proc.returncode == ok, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return parse_one_json(proc.stdout)


def raw(port: int, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_start_status_api_and_stop(runtime: Path, tmp_path: Path) -> None:
    started = sk(tmp_path, "start")
    assert started["started"] and started["skipped_reason"] is None
    pid = started["pid"]
    assert daemon_pids(runtime) == [pid]
    owner = record(runtime)
    assert owner is not None and owner.pid == pid and owner.port in PORT_RANGE
    assert owner.server_url == HUB and owner.user == "ada@example.com"
    assert owner.queue_path.startswith(str(runtime / "queues"))
    paths = RuntimePaths(runtime)
    token_path = client.token_file(paths)
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    token = token_path.read_text()
    # a second start reuses it
    again = sk(tmp_path, "start")
    assert not again["started"] and again["pid"] == pid

    status = sk(tmp_path, "status")
    assert status["running"] and status["pid"] == pid and status["policy"] == "auto"
    assert status["state"] == "running"
    health = status["health"]
    assert health["pid"] == pid and health["queue_depth"] == 0
    assert token not in json.dumps(status)
    assert token not in json.dumps(owner.to_json())

    port = owner.port
    assert client.request(port, "POST", "/api/sync/trigger")[0] == 403
    assert client.request(port, "POST", "/api/sync/trigger", token="0" * 64)[0] == 403
    assert client.request(port, "POST", "/api/shutdown", token=token[:-1])[0] == 403
    assert client.request(port, "GET", "/api/sync/trigger")[0] == 405
    assert client.request(port, "GET", "/api/nothing")[0] == 404
    assert client.trigger(paths, port)
    rebinding = raw(port, b"GET /api/health HTTP/1.0\r\nHost: evil.example:80\r\n\r\n")
    assert rebinding.startswith(b"HTTP/1.0 403")
    assert raw(port, b"garbage\r\n\r\n").startswith(b"HTTP/1.0 400")  # and keeps serving
    assert client.health(port)["pid"] == pid

    assert sk(tmp_path, "stop") == {"result": "stopped", "pid": pid, "unresponsive": False}
    assert process_gone(pid, owner.process_start)
    assert record(runtime) is None and not token_path.exists()
    assert sk(tmp_path, "stop") == {"result": "not_running", "pid": None,
                                    "unresponsive": False}
    log = log_text(runtime)
    assert "serving on 127.0.0.1" in log and "shutdown requested" in log
    assert token not in log and "access-SECRET" not in log and "refresh-SECRET" not in log


def test_second_daemon_exits_at_once_and_two_racing_clis_start_one(
        runtime: Path, tmp_path: Path) -> None:
    racers = [subprocess.Popen([str(CLI), "sync", "daemon", "start", "--json"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ)) for _ in range(4)]
    answers = []
    for proc in racers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
        answers.append(json.loads(out))
    pids = {answer["pid"] for answer in answers}
    assert len(pids) == 1 and sum(answer["started"] for answer in answers) == 1
    assert daemon_pids(runtime) == sorted(pids)
    # started by hand, a second daemon finds the lock taken and leaves with 0
    second = subprocess.run([sys.executable, "-m", "spec_kitty.sync.daemon", "--root",
                             str(runtime)], capture_output=True, timeout=60)
    assert second.returncode == 0
    assert "another daemon holds" in log_text(runtime)
    assert daemon_pids(runtime) == sorted(pids)


def test_kill_9_leaves_stale_records_the_next_start_recovers(runtime: Path,
                                                             tmp_path: Path) -> None:
    for _ in range(3):
        first = sk(tmp_path, "start")
        os.kill(first["pid"], signal.SIGKILL)
        wait_for(lambda pid=first["pid"]: process_gone(pid, None), "the kill")
        stale = record(runtime)
        assert stale is not None and stale.pid == first["pid"]  # left behind
        assert (daemon_dir(RuntimePaths(runtime)) / "daemon.lock").exists()
        assert sk(tmp_path, "status")["running"] is False
        second = sk(tmp_path, "start")
        assert second["started"] and second["pid"] != first["pid"]
        fresh = record(runtime)
        assert fresh is not None and fresh.pid == second["pid"]
        assert daemon_pids(runtime) == [second["pid"]]
        os.kill(second["pid"], signal.SIGKILL)
        wait_for(lambda pid=second["pid"]: process_gone(pid, None), "the kill")


def test_a_failing_drain_backs_off_and_an_idle_daemon_retires(
        runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spec_kitty.sync.emitter import enqueue
    from spec_kitty.sync.scope import current_scope
    from sync_hub_helpers import Repo

    paths = RuntimePaths(runtime)
    scope = current_scope(paths)
    assert scope is not None
    repo = Repo(team=scope.team_slug)
    enqueue([repo.move("m", "WP01", "planned", "claimed", 1)], scope, paths)
    started = sk(tmp_path, "start")  # nothing listens at the hub's address
    port = record(runtime).port  # type: ignore[union-attr]
    health = wait_for(lambda: (lambda h: h if h["consecutive_failures"] >= 2 else None)(
        client.health(port)), "two failed drains")
    assert health["last_drain"]["ok"] is False and health["queue_depth"] == 1
    assert health["pid"] == started["pid"]  # the failures did not end the daemon
    sk(tmp_path, "stop")
    monkeypatch.setenv("SPEC_KITTY_DAEMON_IDLE_TIMEOUT", "2")
    idle = sk(tmp_path, "start")
    wait_for(lambda: process_gone(idle["pid"], None), "idle retirement")
    assert "idle for 2s" in log_text(runtime) and record(runtime) is None
    assert "access-SECRET" not in log_text(runtime)


def test_the_emitter_nudge_starts_under_auto_only_and_then_triggers(
        runtime: Path, tmp_path: Path) -> None:
    from spec_kitty.hosted.config import set_setting
    from spec_kitty.sync.daemon.policy import on_events_queued

    paths = RuntimePaths(runtime)
    set_setting("sync", "background_daemon", "manual", paths)
    on_events_queued(paths)
    assert daemon_pids(runtime) == [] and record(runtime) is None
    set_setting("sync", "background_daemon", "auto", paths)
    on_events_queued(paths)
    owner = wait_for(lambda: record(runtime), "the daemon's owner record")
    assert daemon_pids(runtime) == [owner.pid]
    before = wait_for(lambda: client.health(owner.port), "health")["triggers"]
    on_events_queued(paths)  # a running daemon is triggered, not started again
    on_events_queued(paths)
    wait_for(lambda: client.health(owner.port)["triggers"] == before + 2, "two triggers")
    assert daemon_pids(runtime) == [owner.pid]
    # under manual, a daemon started by hand still gets nudged (and nothing new starts)
    set_setting("sync", "background_daemon", "manual", paths)
    on_events_queued(paths)
    wait_for(lambda: client.health(owner.port)["triggers"] == before + 3, "a third trigger")
    assert daemon_pids(runtime) == [owner.pid]


def test_a_daemon_whose_owner_record_names_another_pid_retires_and_keeps_it(
        runtime: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from spec_kitty.sync.daemon import owner as owner_module

    started = sk(tmp_path, "start")
    current = record(runtime)
    assert current is not None
    # another live process (a `sleep` stands in for it) now claims ownership
    claimant = subprocess.Popen(["sleep", "300"])
    try:
        other = replace(current, pid=claimant.pid,
                        process_start=owner_module.process_start_ticks(claimant.pid))
        owner_module.write(RuntimePaths(runtime), other)
        wait_for(lambda: process_gone(started["pid"], current.process_start), "retirement")
        assert "owner record no longer names this process" in log_text(runtime)
        assert record(runtime) == other  # removed only by its owner
    finally:
        claimant.kill()
        claimant.wait()


def test_racing_status_writes_leave_exactly_one_daemon(runtime: Path) -> None:
    script = ("import sys; from pathlib import Path; "
              "from spec_kitty.hosted.runtime import RuntimePaths; "
              "from spec_kitty.sync.daemon.policy import on_events_queued; "
              "on_events_queued(RuntimePaths(Path(sys.argv[1])))")
    writers = [subprocess.Popen([sys.executable, "-c", script, str(runtime)],
                                stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for proc in writers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "Traceback" not in err, err
    owner = wait_for(lambda: record(runtime), "an owner record")
    # spawners that lost the race exit at once; exactly the owner stays
    wait_for(lambda: daemon_pids(runtime) == [owner.pid], "a single daemon", 60)
    assert client.health(owner.port)["pid"] == owner.pid


def test_status_text_says_unknown_when_the_daemon_cannot_read_the_queue(
        runtime: Path, tmp_path: Path) -> None:
    started = sk(tmp_path, "start")
    owner = record(runtime)
    assert owner is not None
    queue = Path(owner.queue_path)
    if queue.exists():
        queue.unlink()
    queue.mkdir(parents=True)  # a directory where the queue file should be: unreadable
    status = sk(tmp_path, "status")
    assert status["running"] and status["health"]["queue_depth"] is None
    proc = run_cli(["sync", "daemon", "status"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    queue_line = next(line for line in proc.stdout.splitlines() if line.startswith("Queue:"))
    assert "None" not in queue_line and "unknown" in queue_line, proc.stdout
    assert sk(tmp_path, "stop")["pid"] == started["pid"]
