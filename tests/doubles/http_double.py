"""A small threaded HTTP server that provider doubles build on.

Gives each double: a real socket on 127.0.0.1 (ephemeral port), a request log, an
authentication hook, and fault injection that the connectors must survive:

* ``faults.rate_limit_once(...)``: the next request gets the provider's rate-limit answer;
* ``faults.fail_next(status)``: the next request gets a 5xx (or any status);
* ``faults.cut_next()``: the connection is reset before the request is handled;
* ``faults.cut_after_handling()``: the request IS handled (state changes), then the
  connection is reset instead of answering, as when a network drops mid-response.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Matcher = Callable[["Request"], bool]


class Faults:
    """A FIFO of one-shot faults; each may be limited to requests a ``when`` predicate
    accepts (``when=None``: the next request, whatever it is)."""

    def __init__(self) -> None:
        self._queue: list[tuple[str, dict[str, Any], Matcher | None]] = []
        self._lock = threading.Lock()

    def rate_limit_once(self, when: Matcher | None = None, **options: Any) -> None:
        self._push("rate_limit", options, when)

    def fail_next(self, status: int = 502, count: int = 1, when: Matcher | None = None) -> None:
        for _ in range(count):
            self._push("status", {"status": status}, when)

    def cut_next(self, count: int = 1, when: Matcher | None = None) -> None:
        for _ in range(count):
            self._push("cut", {}, when)

    def cut_after_handling(self, when: Matcher | None = None) -> None:
        self._push("cut_after", {}, when)

    def _push(self, kind: str, options: dict[str, Any], when: Matcher | None) -> None:
        with self._lock:
            self._queue.append((kind, options, when))

    def take(self, request: Request) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            for index, (kind, options, when) in enumerate(self._queue):
                if when is None or when(request):
                    del self._queue[index]
                    return kind, options
            return None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)


Route = tuple[str, re.Pattern[str], Callable[..., Response]]


class HttpDouble:
    """Subclasses set ``routes`` (method, path regex, handler(request, **groups)) and
    implement :meth:`authorized`, :meth:`unauthorized` and :meth:`rate_limited`."""

    name = "double"

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults = Faults()
        self.lock = threading.RLock()
        self._routes: list[Route] = [
            (method, re.compile(f"^{pattern}$"), handler)
            for method, pattern, handler in self.routes()
        ]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- to override -----------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        raise NotImplementedError

    def authorized(self, request: Request) -> bool:
        raise NotImplementedError

    def unauthorized(self, request: Request) -> Response:
        return Response(401, {"message": "Unauthorized"})

    def rate_limited(self, request: Request, options: dict[str, Any]) -> Response:
        return Response(
            429, {"message": "rate limited"}, {"Retry-After": str(options.get("retry_after", 1))}
        )

    def common_headers(self, request: Request) -> dict[str, str]:
        return {}

    # -- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "double not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HttpDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                pass

            def _handle(self) -> None:
                double._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch --------------------------------------------------------------
    def requests_to(self, method: str, path_regex: str) -> list[Request]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self.lock:
            self.requests.append(request)
        fault = self.faults.take(request)
        if fault and fault[0] == "cut":
            _reset(handler)
            return
        if fault and fault[0] == "rate_limit":
            response = self.rate_limited(request, fault[1])
        elif fault and fault[0] == "status":
            response = Response(fault[1]["status"], {"message": "injected server error"})
        elif not self.authorized(request):
            response = self.unauthorized(request)
        else:
            response = self._route(request)
        if fault and fault[0] == "cut_after":
            _reset(handler)
            return
        payload = response.encode()
        handler.send_response(response.status)
        headers = {**self.common_headers(request), **response.headers}
        if response.body is not None and not isinstance(response.body, bytes | str):
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _route(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                with self.lock:
                    return handler(request, **match.groupdict())
        return Response(404, {"message": "Not Found"})


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Close with SO_LINGER 0 so the peer sees a TCP reset, not a clean end of stream."""
    sock: socket.socket = handler.connection
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        handler.close_connection = True
        sock.close()
