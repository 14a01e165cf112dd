"""Read a JSON request body (plain or gzip) without ever holding more than a cap.

The raw body is refused at ``Content-Length`` or, without one, as soon as the bytes
read pass the cap; a gzip body is inflated in bounded steps and refused as soon as
the output passes the cap, so a small "gzip bomb" costs at most ``cap`` bytes of
memory and is never parsed.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from fastapi import Request

GZIP_MAGIC = b"\x1f\x8b"
_STEP = 64 * 1024


class BodyProblem(Exception):
    """A request body refused before it reached the application: HTTP ``status``
    (400, 413 or 415), a stable ``code`` and a sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _too_large(cap: int, what: str) -> BodyProblem:
    return BodyProblem(413, "oversized_batch",
                       f"Payload too large: oversized batch, the {what} exceeds {cap} bytes; "
                       "send fewer events per request.")


async def read_raw(request: Request, cap: int) -> bytes:
    """The raw body; BodyProblem 413 beyond ``cap`` bytes (declared or actual)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(cap, "request body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large(cap, "request body")
        chunks.append(chunk)
    return b"".join(chunks)


def inflate(data: bytes, cap: int) -> bytes:
    """Decompress gzip ``data``; BodyProblem 413 as soon as the output passes ``cap``
    bytes, 400 ``bad_gzip`` for a corrupt or truncated stream."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = data
    try:
        while pending:
            out += inflater.decompress(pending, cap + 1 - len(out))
            if len(out) > cap:
                raise _too_large(cap, "decompressed body")
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        out += inflater.flush(cap + 1 - len(out)) if not inflater.eof else b""
    except zlib.error as error:
        raise BodyProblem(400, "bad_gzip", f"The gzip body cannot be decompressed: {error}.") \
            from None
    if len(out) > cap:
        raise _too_large(cap, "decompressed body")
    if not inflater.eof:
        raise BodyProblem(400, "bad_gzip", "The gzip body is truncated.")
    return bytes(out)


async def read_json(request: Request, cap: int) -> Any:
    """The parsed JSON body of ``request``, at most ``cap`` bytes raw and inflated.

    ``Content-Encoding: gzip`` (or a body starting with the gzip magic) is inflated;
    ``identity`` or none is read as is; any other encoding is BodyProblem 415.
    Raises BodyProblem 400 ``invalid_json`` for a body that is not JSON.
    """
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        raise BodyProblem(415, "unsupported_encoding",
                          f"Content-Encoding {encoding!r} is not supported: use gzip or none.")
    data = await read_raw(request, cap)
    if encoding in ("gzip", "x-gzip") or data.startswith(GZIP_MAGIC):
        data = inflate(data, cap)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise BodyProblem(400, "invalid_json", f"The body is not JSON: {error}.") from None
