"""Refuse input the database cannot hold, before and after routing: a 400, never a 500.

PostgreSQL text columns cannot contain NUL (U+0000): psycopg refuses such a parameter
with ``DataError``, even in a plain ``WHERE slug = …`` lookup, and SQLite accepts it.
So a ``%00`` in a team slug, project uuid, mission slug or operation id would answer
500 on PostgreSQL only (and uvicorn then drops the keep-alive connection).

- ``NulGuard`` (ASGI middleware) answers 400 ``invalid_request`` to any request whose
  path or query string decodes to a NUL, before a route or the database sees it.
- ``data_error`` (exception handler) turns any other ``DataError`` (a NUL in a form
  field or a JSON string that reached a query) into the same 400; the unit of work
  has already rolled back, so nothing partial is stored. The rejected values are not
  logged (a form field may be a password).
"""

from __future__ import annotations

import logging
from urllib.parse import unquote_to_bytes

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("spec_kitty_hub.request_guard")
NUL_REFUSED = {"error": "invalid_request",
               "error_description": "NUL characters (%00) are not allowed in a request."}
DATA_REFUSED = {"error": "invalid_request",
                "error_description": "The request holds a value the database cannot store "
                                     "(such as a NUL character)."}


def _has_nul(scope: Scope) -> bool:
    path = scope.get("path", "")
    raw_path = scope.get("raw_path") or b""
    query = scope.get("query_string") or b""
    return ("\x00" in path or b"\x00" in unquote_to_bytes(raw_path)
            or b"\x00" in unquote_to_bytes(query.replace(b"+", b" ")))


class NulGuard:
    """ASGI middleware: 400 ``invalid_request`` for a NUL in the path or query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            body = orjson.dumps(NUL_REFUSED)
            await send({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def data_error(request: Request, error: Exception) -> JSONResponse:
    """Exception handler for ``sqlalchemy.exc.DataError``: 400 ``invalid_request``."""
    assert isinstance(error, DataError)
    log.warning("refused a request the database could not take: %s %s (%s)",
                request.method, request.url.path.replace("\x00", "\\x00"),
                type(error.orig).__name__)
    return JSONResponse(DATA_REFUSED, status_code=400, headers={"Cache-Control": "no-store"})
