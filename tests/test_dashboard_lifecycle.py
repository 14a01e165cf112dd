"""`spec-kitty dashboard` for real: start, reuse, kill, stale files, busy ports, live events."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spec_kitty.dashboard.errors import PORT_RANGE
from spec_kitty.dashboard.lifecycle import is_dashboard_process, pid_alive
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log

from helpers import parse_one_json, run_cli
from missions_fixture import event, make_mission

SLUG = "demo-01JDEMQ0"


def dashboard(repo: Path, *args: str) -> tuple[int, dict]:
    proc = run_cli(["dashboard", *args, "--json"], repo)
    return proc.returncode, parse_one_json(proc.stdout)


def get_json(url: str) -> dict:
    response = httpx.get(url, timeout=5, trust_env=False)
    response.raise_for_status()
    return response.json()


def lifecycle_file(repo: Path) -> Path:
    return repo / ".kittify" / ".dashboard"


@pytest.fixture
def started() -> Iterator[list[Path]]:
    """Repositories whose dashboards must be stopped however the test ends."""
    repos: list[Path] = []
    yield repos
    for repo in repos:
        pid = None
        with contextlib.suppress(OSError, ValueError, KeyError):
            pid = json.loads(lifecycle_file(repo).read_text())["pid"]
        run_cli(["dashboard", "--kill", "--json"], repo)
        if pid and pid_alive(pid) and is_dashboard_process(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def repo(initialized_repo: Path, started: list[Path]) -> Path:
    make_mission(initialized_repo)
    started.append(initialized_repo)
    return initialized_repo


def free_port_in_range() -> int:
    for port in PORT_RANGE:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in the dashboard range")


def test_start_reuse_and_kill(repo: Path) -> None:
    code, first = dashboard(repo)
    assert code == 0, first
    assert set(first) == {"url", "port", "pid", "projects", "reused"}
    assert first["reused"] is False
    assert first["url"] == f"http://127.0.0.1:{first['port']}/"
    assert first["projects"] == [{"key": "repo", "root": str(repo.resolve())}]
    assert pid_alive(first["pid"]) and is_dashboard_process(first["pid"])

    record_path = lifecycle_file(repo)
    record = json.loads(record_path.read_text())
    assert {record[k] for k in ("url", "port", "pid")} == {first["url"], first["port"],
                                                          first["pid"]}
    assert len(record["token"]) == 32
    assert record_path.stat().st_mode & 0o777 == 0o600
    health = get_json(first["url"] + "api/health")
    assert health["pid"] == first["pid"]
    assert record["token"] not in json.dumps(health)
    board = get_json(first["url"] + f"api/missions/{SLUG}/board")
    assert board["by_lane"]["planned"] == 3

    code, second = dashboard(repo)
    assert code == 0
    assert second["reused"] is True
    assert (second["pid"], second["url"]) == (first["pid"], first["url"])

    code, stopped = dashboard(repo, "--kill")
    assert code == 0
    assert stopped["stopped"] is True and stopped["method"] == "shutdown"
    assert not pid_alive(first["pid"])
    assert not record_path.exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(first["url"] + "api/health", timeout=1, trust_env=False)

    code, again = dashboard(repo, "--kill")
    assert code == 0 and again["stopped"] is False and again["running"] is False


def test_a_stale_lifecycle_file_with_a_dead_pid_is_replaced(repo: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not pid_alive(dead.pid)
    port = free_port_in_range()
    lifecycle_file(repo).write_text(json.dumps({
        "url": f"http://127.0.0.1:{port}/", "port": port, "token": "stale", "pid": dead.pid,
        "projects": [str(repo.resolve())]}))
    code, result = dashboard(repo)
    assert code == 0, result
    assert result["reused"] is False
    assert result["pid"] != dead.pid and pid_alive(result["pid"])
    assert json.loads(lifecycle_file(repo).read_text())["pid"] == result["pid"]
    assert get_json(result["url"] + "api/health")["pid"] == result["pid"]


def test_a_busy_port_moves_the_dashboard_to_another_in_the_range(repo: Path) -> None:
    port = free_port_in_range()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen(1)
        code, result = dashboard(repo, "--port", str(port))
        assert code == 0, result
        assert result["port"] != port
        assert result["port"] in PORT_RANGE
        assert get_json(result["url"] + "api/health")["pid"] == result["pid"]


def test_kill_without_a_dashboard_and_bad_projects_are_clean_json(repo: Path,
                                                                  tmp_path: Path) -> None:
    code, result = dashboard(repo, "--kill")
    assert code == 0 and result["stopped"] is False
    code, error = dashboard(repo, "--project", str(tmp_path / "missing"))
    assert code == 1
    assert error["error_code"] == "DASHBOARD_PROJECT_INVALID"
    code, error = dashboard(repo, "--kill", "--open")
    assert code == 2 and error["error_code"] == "USAGE_ERROR"


def test_several_projects_in_one_dashboard(repo: Path, tmp_path: Path,
                                           started: list[Path]) -> None:
    other = tmp_path / "other"
    (other / ".kittify").mkdir(parents=True)
    make_mission(other, slug="beta-01JBETA00", mission_id="01JBETA0000000000000000000")
    code, result = dashboard(repo, "--project", str(repo), "--project", str(other / "kitty-specs"))
    assert code == 0, result
    assert [p["key"] for p in result["projects"]] == ["repo", "other"]
    missions = get_json(result["url"] + "api/projects/other/missions")
    assert [m["slug"] for m in missions["missions"]] == ["beta-01JBETA00"]
    assert get_json(result["url"] + "api/missions")["project"] == "repo"
    code, again = dashboard(repo, "--project", str(repo), "--project", str(other))
    assert again["reused"] is True and again["pid"] == result["pid"]
    # A different set of projects replaces the running dashboard.
    code, single = dashboard(repo)
    assert single["reused"] is False and single["pid"] != result["pid"]
    assert not pid_alive(result["pid"])


def _read_stream(url: str, received: queue.Queue, stop: threading.Event) -> None:
    with httpx.stream("GET", url, timeout=httpx.Timeout(10, read=30), trust_env=False) as stream:
        event_name = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event_name = line[len("event: "):]
            elif line.startswith("data: "):
                received.put((event_name, json.loads(line[len("data: "):]), time.perf_counter()))
            if stop.is_set():
                return


def test_appended_events_are_pushed_within_0_3_seconds(repo: Path) -> None:
    code, result = dashboard(repo)
    assert code == 0, result
    received: queue.Queue = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=_read_stream, daemon=True,
                              args=(result["url"] + "api/stream", received, stop))
    reader.start()
    name, hello, _ = received.get(timeout=10)
    assert name == "hello" and hello["projects"] == ["repo"]
    time.sleep(0.3)  # let the watcher settle before timing it
    project = ProjectPaths(repo)
    from spec_kitty.repo.missions import Mission

    mission = Mission(repo / "kitty-specs" / SLUG)
    latencies = []
    for index, (wp, lane) in enumerate([("WP01", "claimed"), ("WP02", "claimed"),
                                        ("WP03", "blocked")]):
        before = time.perf_counter()
        with event_log.status_lock(project, mission):
            event_log.append_rows(mission, [event(wp, "planned", lane,
                                                  f"2026-11-02T10:00:0{index}.000000+00:00",
                                                  f"01JDLIVE{index}")])
        name, change, at = received.get(timeout=5)
        assert name == "change"
        assert change == {"project": "repo", "missions": [SLUG]}
        latencies.append(at - before)
        time.sleep(0.15)  # one change per batch
        while not received.empty():
            received.get_nowait()
    stop.set()
    assert statistics.median(latencies) <= 0.3, latencies
    board = get_json(result["url"] + f"api/missions/{SLUG}/board")
    assert board["by_lane"]["claimed"] == 2 and board["by_lane"]["blocked"] == 1
    assert not (repo / "kitty-specs" / SLUG / "status.json").exists()


def test_kill_falls_back_to_sigterm_when_the_token_is_refused(repo: Path) -> None:
    code, result = dashboard(repo)
    assert code == 0, result
    record = json.loads(lifecycle_file(repo).read_text())
    lifecycle_file(repo).write_text(json.dumps({**record, "token": "not-the-token"}))
    code, stopped = dashboard(repo, "--kill")
    assert code == 0, stopped
    assert stopped["stopped"] is True and stopped["method"] == "sigterm"
    assert not pid_alive(result["pid"])


def test_kill_never_signals_a_pid_that_is_not_a_dashboard(repo: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        port = free_port_in_range()
        lifecycle_file(repo).write_text(json.dumps({
            "url": f"http://127.0.0.1:{port}/", "port": port, "token": "t",
            "pid": bystander.pid, "projects": [str(repo.resolve())]}))
        code, result = dashboard(repo, "--kill")
        assert code == 0, result
        assert result["stopped"] is False and "another program" in result["reason"]
        assert bystander.poll() is None
        assert not lifecycle_file(repo).exists()
    finally:
        bystander.kill()
        bystander.wait()
