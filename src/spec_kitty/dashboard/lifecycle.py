"""The lifecycle file ``.kittify/.dashboard``, the listening socket and the server process.

The lifecycle file is one JSON object ``{url, port, token, pid, projects, started_at}``
written atomically with mode 0600 (the token stops other local users' pages from
shutting the dashboard down). Only standard-library imports: the CLI loads this.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty.dashboard.errors import PORT_RANGE, NoFreePort
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.paths import ProjectPaths

LIFECYCLE_FILE = ".dashboard"
TOKEN_ENV = "SPEC_KITTY_DASHBOARD_TOKEN"
SERVER_MODULE = "spec_kitty.dashboard.serve"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class DashboardRecord:
    url: str
    port: int
    token: str
    pid: int
    projects: list[str] = field(default_factory=list)
    started_at: str | None = None

    def public(self) -> dict[str, Any]:
        """Everything but the token, for output."""
        return {key: value for key, value in asdict(self).items() if key != "token"}


def lifecycle_path(project: ProjectPaths) -> Path:
    return project.kittify / LIFECYCLE_FILE


def read_record(path: Path) -> DashboardRecord | None:
    """The recorded dashboard, or None when the file is missing or not ours to trust."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return DashboardRecord(url=str(data["url"]), port=int(data["port"]),
                               token=str(data["token"]), pid=int(data["pid"]),
                               projects=[str(p) for p in data.get("projects", [])],
                               started_at=data.get("started_at"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def write_record(path: Path, record: DashboardRecord) -> None:
    write_text_atomic(path, json.dumps(asdict(record), indent=2) + "\n", mode=0o600)


def remove_record(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# -- the listening socket -----------------------------------------------------------------


def _listen_on(port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Lets a restart reuse a port whose old connections sit in TIME_WAIT; a port
    # another process listens on still refuses the bind.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            return None
        raise
    return sock


def bind_listener(requested: int | None) -> socket.socket:
    """A socket listening on 127.0.0.1: the requested port, else the first free one of
    9237–9336. The server process inherits it, so no other program can take the port
    between choosing it and serving on it."""
    candidates = [requested] if requested is not None else []
    candidates += [port for port in PORT_RANGE if port != requested]
    for port in candidates:
        sock = _listen_on(port)
        if sock is not None:
            return sock
    raise NoFreePort(requested)


# -- the server process -------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(0) is all we know
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def is_dashboard_process(pid: int) -> bool:
    """Whether ``pid`` is a dashboard server, so a recycled pid is never signalled."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        try:
            cmdline = subprocess.run(["ps", "-o", "command=", "-p", str(pid)],
                                     capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            return False
    return SERVER_MODULE in cmdline


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def terminate(pid: int, grace: float = 3.0) -> str:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns the signal that worked."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return "exited"
        if wait_for_exit(pid, wait):
            return sig.name.lower()
    return "unkillable"
