"""The loopback redirect target of the browser login (RFC 8252 §7.3).

Listens on ``127.0.0.1`` only, on the first free port of 28888-28898, otherwise on any
port the system assigns; the redirect URI is ``http://127.0.0.1:<port>/callback``. It
answers ``GET /callback`` and nothing else, accepts a callback only when its ``state``
matches (a forged or stale one is answered with 400 and waiting goes on), and never logs
a request line, since those carry the authorization code.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
PREFERRED_PORTS = range(28888, 28899)
CALLBACK_PATH = "/callback"
LOGIN_TIMEOUT_SECONDS = 300.0

_DONE_PAGE = ("<!doctype html><meta charset=utf-8><title>spec-kitty</title>"
              "<h1>{title}</h1><p>{body}</p>")


@dataclass(frozen=True)
class Callback:
    """What the authorization server sent back: a ``code``, or an ``error``."""

    code: str | None
    error: str | None
    error_description: str | None


class _Server(HTTPServer):
    allow_reuse_address = False  # never share a port with another listener
    state_check: Callable[[str | None], bool]
    result: Callback | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a connected client that sends nothing cannot stall the login

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._reply(404, "Not found", "This address only receives the login callback.")
            return
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if not self.server.state_check(query.get("state")):
            self._reply(400, "Login link not recognised",
                        "This callback does not belong to the login in progress.")
            return
        if "error" in query:
            self.server.result = Callback(None, query["error"], query.get("error_description"))
            self._reply(200, "Login cancelled", "You can close this tab.")
        elif query.get("code"):
            self.server.result = Callback(query["code"], None, None)
            self._reply(200, "Logged in",
                        "spec-kitty is logged in. You can close this tab.")
        else:
            self._reply(400, "Incomplete callback", "The callback carries no code.")

    def _reply(self, status: int, title: str, body: str) -> None:
        page = _DONE_PAGE.format(title=title, body=body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Request lines carry the authorization code: never log them."""


def _bind(ports: range) -> _Server:
    for port in [*ports, 0]:
        try:
            return _Server((HOST, port), _Handler)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES) or port == 0:
                raise
    raise OSError(errno.EADDRINUSE, "no free port")  # pragma: no cover - port 0 never fails


class LoopbackReceiver:
    """A bound listener; :meth:`wait` serves until a valid callback or the deadline."""

    def __init__(self, state_check: Callable[[str | None], bool],
                 ports: range = PREFERRED_PORTS) -> None:
        self._server = _bind(ports)
        self._server.state_check = state_check
        address: tuple[str, int] = self._server.socket.getsockname()
        self.port = address[1]

    @property
    def redirect_uri(self) -> str:
        return f"http://{HOST}:{self.port}{CALLBACK_PATH}"

    def wait(self, timeout: float = LOGIN_TIMEOUT_SECONDS) -> Callback | None:
        """The callback, or ``None`` when ``timeout`` seconds pass without one."""
        deadline = time.monotonic() + timeout
        while self._server.result is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._server.timeout = min(remaining, 1.0)
            try:
                self._server.handle_request()
            except (TimeoutError, ConnectionError):  # a client gave up mid-request
                continue
        return self._server.result

    def close(self) -> None:
        self._server.server_close()
