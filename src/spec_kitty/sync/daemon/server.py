"""The daemon's loopback API (stdlib ``ThreadingHTTPServer``), 127.0.0.1 only.

=========================  =====  ===========================================  ==========
endpoint                   token  answer                                       status
=========================  =====  ===========================================  ==========
``GET /api/health``        no     pid, versions, port, queue depth, last drain  200
``POST /api/sync/trigger`` yes    ``{"result": "scheduled"}``                   202
``POST /api/shutdown``     yes    ``{"result": "stopping"}`` (after the drain)  200
=========================  =====  ===========================================  ==========

The token is compared with :func:`hmac.compare_digest`; a missing or wrong one gets 403
``invalid_token``. A ``Host`` header naming anything but the loopback address gets 403
(DNS rebinding), unknown paths 404, other methods 405. The health answer never carries
the token or anything from the session.
"""

from __future__ import annotations

import hmac
import json
import logging
import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from spec_kitty.sync.daemon.settings import HOST, PORT_RANGE, TOKEN_HEADER

log = logging.getLogger("spec_kitty.sync.daemon")
MAX_CONNECTIONS = 32
REQUEST_TIMEOUT = 2.0  # seconds a connection may take to send its request


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEADDR: a port left in TIME_WAIT by a crashed daemon is free again, while one
    # with a live listener still refuses the bind (Linux, macOS).
    allow_reuse_address = True
    request_queue_size = 128  # bursts of nudges from parallel status writes

    def __init__(self, port: int, token: str, health: Callable[[], dict[str, Any]],
                 on_trigger: Callable[[], None], on_shutdown: Callable[[], None]) -> None:
        self.token, self.health = token, health
        self.on_trigger, self.on_shutdown = on_trigger, on_shutdown
        # Any local user can connect to a loopback port: cap the connections served at
        # once, so idle sockets cannot use up the daemon's threads and descriptors.
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((HOST, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # full: drop it; the client retries
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (a DNS lookup): skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]


def bind(token: str, health: Callable[[], dict[str, Any]], on_trigger: Callable[[], None],
         on_shutdown: Callable[[], None], ports: range = PORT_RANGE) -> ControlServer:
    """A server bound to the first free port of ``ports``; raises OSError if none is."""
    for port in ports:
        try:
            return ControlServer(port, token, health, on_trigger, on_shutdown)
        except OSError:
            continue
    raise OSError(f"no free port in {HOST}:{ports.start}-{ports.stop - 1}")


def serve_in_thread(server: ControlServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="daemon-api", daemon=True)
    thread.start()
    return thread


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer
    timeout = REQUEST_TIMEOUT  # a socket that sends nothing is closed, not kept forever
    protocol_version = "HTTP/1.0"
    default_request_version = "HTTP/1.0"  # answer even a garbled request line with a status

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        # A JSON answer for malformed requests too (the stdlib sends an HTML page).
        self.close_connection = True
        self._send(code, {"error": "bad_request" if code == 400 else f"http_{code}"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.debug("api: " + format, *args)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # a fire-and-forget caller may have gone already

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in {"", HOST, "localhost"}

    def _authorised(self) -> bool:
        given = self.headers.get(TOKEN_HEADER) or ""
        return hmac.compare_digest(given.encode(), self.server.token.encode())

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if not self._host_ok():
            self._send(403, {"error": "bad_host"})
        elif self.path == "/api/health":
            self._send(200, self.server.health())
        elif self.path in ("/api/sync/trigger", "/api/shutdown"):
            self._send(405, {"error": "method_not_allowed"})
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        if not self._host_ok():
            self._send(403, {"error": "bad_host"})
            return
        actions = {"/api/sync/trigger": (self.server.on_trigger, 202, "scheduled"),
                   "/api/shutdown": (self.server.on_shutdown, 200, "stopping")}
        action = actions.get(self.path)
        if action is None:
            self._send(405 if self.path == "/api/health" else 404,
                       {"error": "method_not_allowed" if self.path == "/api/health"
                        else "not_found"})
        elif not self._authorised():
            self._send(403, {"error": "invalid_token"})
        else:
            callback, status, result = action
            callback()
            self._send(status, {"result": result})

    def _not_allowed(self) -> None:
        self._send(405, {"error": "method_not_allowed"})

    do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815 - stdlib names
