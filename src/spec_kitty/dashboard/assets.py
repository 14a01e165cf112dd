"""The page and its static files, served from an allow-list.

The list of files under ``static/`` is read once; a request names an entry of that
list or gets a 404. No request path is ever joined onto a directory, so ``..``,
encoded slashes, absolute paths and symlinks cannot reach anything else.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

STATIC_DIR = Path(__file__).parent / "static"
# board.js / board.css: the board renderer shared with the hub, shipped with the core.
SHARED_DIR = Path(__file__).parent.parent / "core" / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Everything the page loads comes from this server; artifact HTML can never run script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@cache
def static_files() -> dict[str, Path]:
    """Relative name → file, for every regular file shipped under ``static/`` and the
    shared board assets (``core/static/``)."""
    files = {}
    for directory in (SHARED_DIR, STATIC_DIR):
        root = directory.resolve()
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.suffix in MEDIA_TYPES:
                files[path.relative_to(root).as_posix()] = path
    return files


def _file(name: str) -> Response:
    path = static_files().get(name)
    if path is None:
        return PlainTextResponse("Not found", status_code=404, headers=SECURITY_HEADERS)
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=SECURITY_HEADERS)


def index(_request: Request) -> Response:
    return _file("index.html")


def static_file(request: Request) -> Response:
    return _file(request.path_params["path"])
