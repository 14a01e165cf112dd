"""Refuse input the hub cannot take, before and after routing: a 4xx, never a 500.

PostgreSQL text columns cannot contain NUL (U+0000): psycopg refuses such a parameter
with ``DataError``, even in a plain ``WHERE slug = …`` lookup, and SQLite accepts it.
So a ``%00`` in a team slug, project uuid, mission slug or operation id would answer
500 on PostgreSQL only (and uvicorn then drops the keep-alive connection).

- ``RequestGuard`` (ASGI middleware) answers 400 ``invalid_request`` to any request
  whose path or query string decodes to a NUL, before a route or the database sees it,
  and 413 ``request_too_large`` to a body over ``max_body`` bytes: at once for a larger
  ``Content-Length``, else as soon as the bytes read pass it (FastAPI would otherwise
  read a JSON or form body of any size into memory). Paths in ``own_caps`` (the sync
  endpoints) are left to their own cap and error shape.
- A JSON body with a lone surrogate escape (``"\\ud800"``) answers 400
  ``invalid_request``: Python's JSON parser accepts one, and the string can then be
  neither stored nor echoed in an error (UTF-8 encoding fails: a 500 on every tracker
  endpoint). The sync endpoints parse with orjson, which refuses them itself.
- ``data_error`` (exception handler) turns any other ``DataError`` (a NUL in a form
  field or a JSON string that reached a query) into the same 400; the unit of work
  has already rolled back, so nothing partial is stored. The rejected values are not
  logged (a form field may be a password).
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from fastapi import HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spec_kitty_hub.tracker.problems import TrackerProblem

log = logging.getLogger("spec_kitty_hub.request_guard")
NUL_REFUSED = "NUL characters (%00) are not allowed in a request."
DATA_REFUSED = ("The request holds a value the database cannot store (such as a NUL "
                "character).")
SURROGATE_REFUSED = ("The JSON body holds a lone UTF-16 surrogate escape (such as "
                     "\\ud800): not valid Unicode.")
JSON_PREFIXES = ("/api/", "/oauth/token", "/oauth/device", "/oauth/revoke", "/healthz",
                 "/static/")
JSON_SUFFIXES = ("/live", "/events/stream")
SYNC_PREFIXES = ("/api/v1/events/", "/api/v1/sync/", "/api/dossier/")
# A high surrogate escape not followed by a low one, or a low one not preceded by a high.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _has_nul(scope: Scope) -> bool:
    path = scope.get("path", "")
    raw_path = scope.get("raw_path") or b""
    query = scope.get("query_string") or b""
    return ("\x00" in path or b"\x00" in unquote_to_bytes(raw_path)
            or b"\x00" in unquote_to_bytes(query.replace(b"+", b" ")))


def _too_large(max_body: int) -> str:
    return f"The request body is larger than {max_body} bytes."


def _page(path: str) -> bool:
    """Whether ``path`` is an HTML page (answered in HTML, as its OpenAPI entry says)
    rather than the JSON API, the OAuth endpoints or the team view's live JSON/stream."""
    return not (path.startswith(JSON_PREFIXES) or path.endswith(JSON_SUFFIXES))


def refusal(path: str, status: int, code: str, message: str) -> tuple[bytes, bytes]:
    """``(content type, body)`` of a refusal in the error shape ``path`` documents: a
    page, the tracker envelope, the sync ``{error, error_code}`` or the API's
    ``{error, error_description}``."""
    if _page(path):
        return b"text/html; charset=utf-8", (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Bad request</title></head><body><h1>Bad request</h1><p>"
            f"{html.escape(message)}</p></body></html>").encode()
    if path.startswith("/api/v1/tracker/"):
        body: dict[str, Any] = TrackerProblem(status, code, message).envelope()
    elif path.startswith(SYNC_PREFIXES):
        body = {"error": message, "error_code": code}
    else:
        body = {"error": code, "error_description": message}
    return b"application/json", orjson.dumps(body)


async def _answer(send: Send, scope: Scope, status: int, code: str, message: str) -> None:
    content_type, body = refusal(str(scope.get("path", "")), status, code, message)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: 400 for a NUL in the path or query, 413 past ``max_body``."""

    def __init__(self, app: ASGIApp, max_body: int, own_caps: frozenset[str]) -> None:
        self.app = app
        self.max_body = max_body
        self.own_caps = own_caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope):
            await _answer(send, scope, 400, "invalid_request", NUL_REFUSED)
            return
        if scope.get("path") in self.own_caps:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await _answer(send, scope, 413, "request_too_large", _too_large(self.max_body))
            return
        headers = dict(scope.get("headers") or [])
        if b"json" in headers.get(b"content-type", b"").lower():
            await self._json(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    # Raised inside the route's body read: FastAPI and Starlette answer
                    # an HTTPException with its status.
                    raise HTTPException(413, _too_large(self.max_body))
            return message

        await self.app(scope, counted, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole (capped) JSON body, refuse lone surrogates, replay it."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see that
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                await _answer(send, scope, 413, "request_too_large",
                              _too_large(self.max_body))
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _LONE_SURROGATE.search(body) is not None and not _parses(body):
            await _answer(send, scope, 400, "invalid_request", SURROGATE_REFUSED)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _parses(body: bytes) -> bool:
    """Whether orjson (which refuses lone surrogates) parses ``body``: the pattern can
    match an escaped backslash followed by the text ``ud800``."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


async def data_error(request: Request, error: Exception) -> Response:
    """Exception handler for ``sqlalchemy.exc.DataError``: 400 ``invalid_request``."""
    assert isinstance(error, DataError)
    log.warning("refused a request the database could not take: %s %s (%s)",
                request.method, request.url.path.replace("\x00", "\\x00"),
                type(error.orig).__name__)
    content_type, body = refusal(request.url.path, 400, "invalid_request", DATA_REFUSED)
    return Response(body, status_code=400, media_type=content_type.decode(),
                    headers={"Cache-Control": "no-store"})
