"""A loopback reverse proxy that records what a client sends to the hub.

Used to learn and pin down the contract of clients nobody here wrote (the published
spec-kitty CLI): it forwards every request unchanged to the real hub and keeps, per
request, the method, path, content type, the names (never the values) of form or JSON
fields, the scheme of the Authorization header and the sync protocol header.
``set_headers`` (changeable while running) overrides request headers on the way, e.g.
to make the hub see another sync protocol version.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "host", "content-length"}


@dataclass
class Seen:
    method: str
    path: str
    content_type: str
    fields: dict[str, str] = field(default_factory=dict)
    auth_scheme: str | None = None
    status: int = 0
    sync_protocol: str | None = None


def _fields(content_type: str, body: bytes) -> dict[str, str]:
    """Field name -> value for the few fields whose values are not secrets."""
    public = {"grant_type", "client_id", "scope", "token_type_hint"}
    if body.startswith(b"\x1f\x8b"):  # gzip (event batches)
        body = gzip.decompress(body)
    if content_type.startswith("application/x-www-form-urlencoded"):
        data = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    elif content_type.startswith("application/json") and body:
        loaded = json.loads(body)
        data = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    else:
        return {}
    return {key: (value if key in public else "<redacted>") for key, value in data.items()}


class RecordingProxy:
    def __init__(self, upstream: str, set_headers: dict[str, str] | None = None) -> None:
        self.upstream = upstream
        self.seen: list[Seen] = []
        self.set_headers = dict(set_headers or {})
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type", "")
                auth = self.headers.get("Authorization")
                seen = Seen(self.command, self.path.split("?")[0], content_type,
                            _fields(content_type, body), auth.split()[0] if auth else None,
                            sync_protocol=self.headers.get("X-Spec-Kitty-Sync-Protocol"))
                proxy.seen.append(seen)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
                           and k.lower() not in {h.lower() for h in proxy.set_headers}}
                headers.update(proxy.set_headers)
                answer = httpx.request(self.command, proxy.upstream + self.path, content=body,
                                       headers=headers, timeout=30, follow_redirects=False,
                                       trust_env=False)
                seen.status = answer.status_code
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_BY_HOP | {"content-encoding"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _forward  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
