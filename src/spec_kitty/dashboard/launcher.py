"""Start, reuse and stop the dashboard server for ``spec-kitty dashboard``.

The server is a detached child process (its own session, output in
``.kittify/runtime/dashboard.log``) that inherits an already-listening socket. The
first project given owns the lifecycle file; a second ``spec-kitty dashboard``
reuses the recorded server when it answers ``/api/health`` with the recorded pid
and serves the same projects. Standard library only: the CLI imports this.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.dashboard.errors import DashboardStartFailed
from spec_kitty.dashboard.lifecycle import (
    HOST,
    SERVER_MODULE,
    TOKEN_ENV,
    DashboardRecord,
    bind_listener,
    is_dashboard_process,
    lifecycle_path,
    pid_alive,
    read_record,
    remove_record,
    terminate,
    wait_for_exit,
    write_record,
)
from spec_kitty.dashboard.projects import ServedProject, served_projects
from spec_kitty.repo.paths import ProjectPaths

HEALTH_TIMEOUT_SECONDS = 20.0
SHUTDOWN_WAIT_SECONDS = 5.0
LOCK_TIMEOUT_SECONDS = 30.0
LOG_FILE = "dashboard.log"
TOKEN_HEADER = "X-Dashboard-Token"


@dataclass(frozen=True)
class LaunchResult:
    record: DashboardRecord
    projects: list[ServedProject]
    reused: bool

    def to_json(self) -> dict[str, Any]:
        return {"url": self.record.url, "port": self.record.port, "pid": self.record.pid,
                "projects": [{"key": p.key, "root": str(p.root)} for p in self.projects],
                "reused": self.reused}


# -- talking to a running server --------------------------------------------------------


def _request(port: int, path: str, *, method: str = "GET", token: str | None = None,
             timeout: float = 1.0) -> dict[str, Any] | None:
    """One local request, never through an HTTP proxy; None when nothing answers."""
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", method=method,
                                     headers={TOKEN_HEADER: token} if token else {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):  # URLError, HTTPError, timeouts and bad JSON alike
        return None
    return data if isinstance(data, dict) else None


def probe_health(port: int, timeout: float = 1.0) -> dict[str, Any] | None:
    health = _request(port, "/api/health", timeout=timeout)
    return health if health is not None and health.get("status") == "ok" else None


def _serves(record: DashboardRecord, roots: list[str]) -> bool:
    health = probe_health(record.port)
    if health is None or health.get("pid") != record.pid:
        return False
    served = [p.get("root") for p in health.get("projects", []) if isinstance(p, dict)]
    return served == roots == record.projects


def _shut_down(record: DashboardRecord) -> str:
    """Ask politely with the token, then signal; never signal a recycled pid."""
    answer = _request(record.port, "/api/shutdown", method="POST", token=record.token)
    if answer is not None and wait_for_exit(record.pid, SHUTDOWN_WAIT_SECONDS):
        return "shutdown"
    if not pid_alive(record.pid):
        return "exited"
    if not is_dashboard_process(record.pid):
        return "not_a_dashboard"
    return terminate(record.pid)


# -- starting ---------------------------------------------------------------------------


@contextlib.contextmanager
def _start_lock(home: ProjectPaths) -> Iterator[None]:
    """Two `spec-kitty dashboard` runs at once must not start two servers."""
    from filelock import FileLock, Timeout

    home.runtime_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(home.runtime_dir / "dashboard.lock"), timeout=LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise SpecKittyError("Another `spec-kitty dashboard` is starting or stopping the "
                             "dashboard right now.", "DASHBOARD_BUSY") from None
    try:
        yield
    finally:
        lock.release()


def _log_tail(log_file: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_until_healthy(proc: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise DashboardStartFailed(f"the server exited with code {code}", log_file,
                                       _log_tail(log_file))
        health = probe_health(port, timeout=0.5)
        if health is not None and health.get("pid") == proc.pid:
            return
        time.sleep(0.05)
    terminate(proc.pid)
    raise DashboardStartFailed(f"no answer on port {port} within "
                               f"{HEALTH_TIMEOUT_SECONDS:.0f} s", log_file, _log_tail(log_file))


def _launch(home: ProjectPaths, roots: list[str], port: int | None) -> DashboardRecord:
    token = secrets.token_hex(16)
    listener = bind_listener(port)
    actual_port = listener.getsockname()[1]
    log_file = home.runtime_dir / LOG_FILE
    argv = [sys.executable, "-m", SERVER_MODULE, "--fd", str(listener.fileno())]
    argv += [f"--project={root}" for root in roots]
    try:
        with open(log_file, "ab") as log:
            # The token travels in the environment: argv is visible to every local user.
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    pass_fds=(listener.fileno(),), cwd=roots[0],
                                    env={**os.environ, TOKEN_ENV: token})
    finally:
        listener.close()
    _wait_until_healthy(proc, actual_port, log_file)
    return DashboardRecord(url=f"http://{HOST}:{actual_port}/", port=actual_port, token=token,
                           pid=proc.pid, projects=roots,
                           started_at=datetime.now(UTC).isoformat(timespec="seconds"))


def ensure_running(roots: list[Path], port: int | None = None) -> LaunchResult:
    """The running dashboard for ``roots`` (reused when healthy), started if needed."""
    projects = served_projects(roots)
    root_names = [str(p.root) for p in projects]
    home = projects[0].paths
    path = lifecycle_path(home)
    with _start_lock(home):
        record = read_record(path)
        if record is not None:
            if pid_alive(record.pid) and _serves(record, root_names):
                return LaunchResult(record, projects, reused=True)
            # Stale (dead pid, no answer) or serving other projects: replace it.
            if pid_alive(record.pid):
                _shut_down(record)
            remove_record(path)
        record = _launch(home, root_names, port)
        write_record(path, record)
        return LaunchResult(record, projects, reused=False)


def stop(root: Path) -> dict[str, Any]:
    """Stop the dashboard recorded in ``root``'s lifecycle file, if any."""
    home = ProjectPaths(root)
    path = lifecycle_path(home)
    with _start_lock(home):
        record = read_record(path)
        if record is None:
            return {"stopped": False, "running": False, "reason": "no dashboard recorded"}
        if not pid_alive(record.pid):
            remove_record(path)
            return {"stopped": False, "running": False, "pid": record.pid, "url": record.url,
                    "reason": "the recorded process had already exited"}
        method = _shut_down(record)
        if method == "unkillable":
            raise SpecKittyError(f"The dashboard (pid {record.pid}) did not stop.",
                                 "DASHBOARD_STOP_FAILED", details={"pid": record.pid})
        remove_record(path)
        if method == "not_a_dashboard":
            return {"stopped": False, "running": False, "pid": record.pid, "url": record.url,
                    "reason": "the recorded pid now belongs to another program"}
        return {"stopped": True, "running": False, "pid": record.pid, "url": record.url,
                "method": method}
