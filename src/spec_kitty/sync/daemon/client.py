"""Talking to the daemon from another process: the control token file and one request.

A raw HTTP/1.0 request over a loopback socket rather than ``http.client`` or httpx:
this runs after every status write, and importing those costs more than the request.
The token travels in the ``X-Spec-Kitty-Daemon-Token`` header, never in a URL.
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path
from typing import Any

from spec_kitty.hosted.runtime import PRIVATE_FILE_MODE, RuntimePaths, ensure_private_dir
from spec_kitty.sync.daemon.owner import daemon_dir
from spec_kitty.sync.daemon.settings import HOST, TOKEN_HEADER


class DaemonUnreachable(OSError):
    """No (valid) answer from the daemon's port."""


def token_file(paths: RuntimePaths) -> Path:
    """``<runtime>/sync/daemon/control.token`` (0600): the running daemon's control token."""
    return daemon_dir(paths) / "control.token"


def new_token(paths: RuntimePaths) -> str:
    """A fresh random token, stored atomically with mode 0600; returns it."""
    from spec_kitty.repo.atomic import write_bytes_atomic

    token = secrets.token_hex(32)
    ensure_private_dir(daemon_dir(paths))
    write_bytes_atomic(token_file(paths), token.encode(), mode=PRIVATE_FILE_MODE)
    return token


def read_token(paths: RuntimePaths) -> str | None:
    try:
        return token_file(paths).read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def remove_token(paths: RuntimePaths, token: str) -> None:
    """Remove the token file if it still holds ``token`` (a successor may have replaced it)."""
    if read_token(paths) == token:
        token_file(paths).unlink(missing_ok=True)


def request(port: int, method: str, path: str, *, token: str | None = None,
            timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    """One request to ``127.0.0.1:port``; returns ``(status, JSON body)``.

    Raises :class:`DaemonUnreachable` when nothing answers (within ``timeout`` seconds
    per socket operation) or the answer is not HTTP with a JSON body.
    """
    head = [f"{method} {path} HTTP/1.0", f"Host: {HOST}:{port}", "Content-Length: 0"]
    if token is not None:
        head.append(f"{TOKEN_HEADER}: {token}")
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii"))
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise DaemonUnreachable(f"127.0.0.1:{port}: {exc}") from None
    raw = b"".join(chunks)
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    try:
        status = int(status_line.split()[1])
        data = json.loads(body) if body else {}
    except (IndexError, ValueError):
        raise DaemonUnreachable(f"127.0.0.1:{port}: not a daemon answer") from None
    return status, data if isinstance(data, dict) else {}


def health(port: int, timeout: float = 2.0) -> dict[str, Any]:
    """``GET /api/health`` (no token needed; the answer holds no secret)."""
    status, data = request(port, "GET", "/api/health", timeout=timeout)
    if status != 200:
        raise DaemonUnreachable(f"127.0.0.1:{port}: health answered {status}")
    return data


def trigger(paths: RuntimePaths, port: int, timeout: float = 0.5) -> bool:
    """Ask the daemon to drain now; True when it accepted (202)."""
    token = read_token(paths)
    if token is None:
        return False
    status, _ = request(port, "POST", "/api/sync/trigger", token=token, timeout=timeout)
    return status == 202


def nudge(paths: RuntimePaths, port: int, timeout: float = 0.5) -> None:
    """Send a trigger without waiting for the answer (the emitter's path).

    Waiting would cost the status write a thread switch inside a busy daemon (several
    milliseconds); the request is complete in the socket's buffer when this returns, so
    the daemon still reads and acts on it. Raises :class:`DaemonUnreachable`.
    """
    token = read_token(paths)
    if token is None:
        return
    head = (f"POST /api/sync/trigger HTTP/1.0\r\nHost: {HOST}:{port}\r\n"
            f"Content-Length: 0\r\n{TOKEN_HEADER}: {token}\r\n\r\n")
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(head.encode("ascii"))
    except OSError as exc:
        raise DaemonUnreachable(f"127.0.0.1:{port}: {exc}") from None


def shutdown(paths: RuntimePaths, port: int, timeout: float = 2.0) -> bool:
    """Ask the daemon to exit after its current drain; True when it agreed (200)."""
    token = read_token(paths)
    if token is None:
        return False
    status, _ = request(port, "POST", "/api/shutdown", token=token, timeout=timeout)
    return status == 200
