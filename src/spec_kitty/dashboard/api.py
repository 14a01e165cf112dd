"""The starlette application: JSON API, event stream, page and static files.

Every route is read-only except ``POST /api/shutdown``, which needs the token from
the lifecycle file, and ``POST /api/sync/now`` (the page's "Sync now" button; hosted
sync on only, else 404), which needs the ``X-Spec-Kitty-Dashboard: sync-now`` header
and, when the browser sends an ``Origin``, this dashboard's own origin: a cross-site page
can neither add the header without a CORS preflight (never granted) nor fake the origin.
Handlers are plain functions, so starlette runs them on its thread pool and a slow disk
read never stalls the event streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from spec_kitty import __version__
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.dashboard import artifacts, assets
from spec_kitty.dashboard.live import ChangeFeed, event_stream, watch_project
from spec_kitty.dashboard.projects import ServedProject, pick_project
from spec_kitty.dashboard.readmodel import DEFAULT_TIMELINE_LIMIT, ProjectReader

TOKEN_HEADER = "X-Dashboard-Token"
LOCAL_HOSTS = ["127.0.0.1", "localhost"]
MAX_TIMELINE_LIMIT = 5000
STATUS_BY_CODE = {
    "MISSION_NOT_FOUND": 404,
    "NO_MISSIONS": 404,
    "ARTIFACT_NOT_FOUND": 404,
    "DASHBOARD_PROJECT_NOT_FOUND": 404,
    "MISSION_AMBIGUOUS_SELECTOR": 409,
    "EVENT_LOG_INVALID": 422,
    "EVENT_LOG_CONFLICT": 422,
    "JSON_INVALID": 422,
    "ARTIFACT_UNREADABLE": 422,
    "EVENT_LOG_UNREADABLE": 500,
    "USAGE_ERROR": 400,
    "INVALID_TOKEN": 403,
    "CROSS_SITE_REQUEST": 403,
    "SYNC_DISABLED": 404,
}
SYNC_NOW_HEADER = "X-Spec-Kitty-Dashboard"
SYNC_NOW_VALUE = "sync-now"


class FastJSON(JSONResponse):
    """orjson: the mission list over hundreds of missions is the hot path."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class DashboardState:
    """Everything the handlers share; one per application."""

    def __init__(self, projects: list[ServedProject], token: str,
                 request_shutdown: Callable[[], None] | None) -> None:
        self.projects = projects
        self.readers = {p.key: ProjectReader(p) for p in projects}
        self.token = token
        self.feed = ChangeFeed()
        self.request_shutdown = request_shutdown
        self.started_at = _utc_now()

    def reader(self, request: Request) -> ProjectReader:
        return self.readers[pick_project(self.projects, request.path_params.get("project")).key]


def _utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _state(request: Request) -> DashboardState:
    return request.app.state.dashboard


def _error(exc: SpecKittyError) -> Response:
    return FastJSON(exc.to_json(), status_code=STATUS_BY_CODE.get(exc.code, 400))


async def _on_speckitty_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SpecKittyError)
    return _error(exc)


async def _on_unexpected_error(_request: Request, exc: Exception) -> Response:
    # Never a traceback in a response; the server log keeps the details.
    import logging

    logging.getLogger("spec_kitty.dashboard").exception("request failed")
    return FastJSON({"error": f"internal error: {type(exc).__name__}",
                     "error_code": "INTERNAL_ERROR"}, status_code=500)


# -- handlers ------------------------------------------------------------------------------


def health(request: Request) -> Response:
    state = _state(request)
    return FastJSON({"status": "ok", "pid": os.getpid(), "version": __version__,
                     "started_at": state.started_at,
                     "projects": [p.to_json() for p in state.projects]})


def list_projects(request: Request) -> Response:
    return FastJSON({"projects": [p.to_json() for p in _state(request).projects]})


def missions(request: Request) -> Response:
    return FastJSON(_state(request).reader(request).missions())


def board(request: Request) -> Response:
    return FastJSON(_state(request).reader(request).board(request.path_params["mission"]))


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_TIMELINE_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TIMELINE_LIMIT:
        raise SpecKittyError(f"limit must be a whole number from 1 to {MAX_TIMELINE_LIMIT}",
                             "USAGE_ERROR")
    return int(raw)


def events(request: Request) -> Response:
    reader = _state(request).reader(request)
    return FastJSON(reader.timeline(request.path_params["mission"], _limit(request)))


def artifact_list(request: Request) -> Response:
    reader = _state(request).reader(request)
    mission = reader.select(request.path_params["mission"])
    return FastJSON({"project": reader.project.key, "mission": mission.slug,
                     "artifacts": artifacts.available(mission)})


def artifact(request: Request) -> Response:
    fmt = request.query_params.get("format", "html")
    if fmt not in artifacts.FORMATS:
        raise SpecKittyError(f"format must be one of {', '.join(artifacts.FORMATS)}",
                             "USAGE_ERROR")
    reader = _state(request).reader(request)
    mission = reader.select(request.path_params["mission"])
    return FastJSON(artifacts.artifact(mission, request.path_params["name"], fmt))


def sync(request: Request) -> Response:
    """This project's sync state and its hub link (see ``dashboard.sync_state``)."""
    from spec_kitty.dashboard.sync_state import sync_state

    return FastJSON(sync_state(_state(request).reader(request).project.paths))


def sync_now(request: Request) -> Response:
    """Start or trigger the sync daemon: ``{started, skipped_reason, pid, triggered,
    message}`` (see ``sync.daemon.control.sync_now``)."""
    from spec_kitty.hosted import gate

    if not gate.is_enabled():
        raise SpecKittyError("Hosted sync is off.", "SYNC_DISABLED")
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if request.headers.get(SYNC_NOW_HEADER) != SYNC_NOW_VALUE or (
            origin is not None and origin != own):
        raise SpecKittyError("Sync now is only accepted from the dashboard's own page.",
                             "CROSS_SITE_REQUEST")
    from spec_kitty.sync.daemon.control import sync_now as request_sync

    return FastJSON(request_sync())


async def stream(request: Request) -> Response:
    state = _state(request)
    hello = {"projects": [p.key for p in state.projects]}
    return StreamingResponse(event_stream(state.feed, hello), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def shutdown(request: Request) -> Response:
    state = _state(request)
    offered = request.headers.get(TOKEN_HEADER, "")
    if not secrets.compare_digest(offered.encode(), state.token.encode()):
        return _error(SpecKittyError("Missing or wrong dashboard token.", "INVALID_TOKEN"))
    state.feed.close()
    # A background task runs once the response has been sent, so the caller gets it.
    after = BackgroundTask(state.request_shutdown) if state.request_shutdown else None
    return FastJSON({"stopping": True, "pid": os.getpid()}, status_code=202, background=after)


def _api_routes(prefix: str) -> list[Route]:
    return [
        Route(f"{prefix}/missions", missions),
        Route(f"{prefix}/sync", sync),
        Route(f"{prefix}/missions/{{mission}}/board", board),
        Route(f"{prefix}/missions/{{mission}}/events", events),
        Route(f"{prefix}/missions/{{mission}}/artifacts", artifact_list),
        Route(f"{prefix}/missions/{{mission}}/artifacts/{{name}}", artifact),
    ]


def create_app(projects: list[ServedProject], *, token: str, watch: bool = True,
               request_shutdown: Callable[[], None] | None = None,
               allowed_hosts: list[str] | None = None) -> Starlette:
    """The dashboard application for ``projects`` (the first one answers ``/api/...``)."""
    if not projects:
        raise ValueError("a dashboard needs at least one project")
    state = DashboardState(projects, token, request_shutdown)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        watchers = [asyncio.create_task(watch_project(p, state.feed, stop))
                    for p in projects] if watch else []
        try:
            yield
        finally:
            state.feed.close()
            stop.set()
            for task in watchers:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, timeout=2.0)

    routes = [
        Route("/", assets.index),
        Route("/static/{path:path}", assets.static_file),
        Route("/api/health", health),
        Route("/api/projects", list_projects),
        Route("/api/stream", stream),
        Route("/api/shutdown", shutdown, methods=["POST"]),
        Route("/api/sync/now", sync_now, methods=["POST"]),
        *_api_routes("/api"),
        *_api_routes("/api/projects/{project}"),
    ]
    # The Host check stops DNS-rebinding pages from reading the API through a
    # name that resolves to 127.0.0.1.
    middleware = [Middleware(TrustedHostMiddleware,
                             allowed_hosts=allowed_hosts or LOCAL_HOSTS)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={SpecKittyError: _on_speckitty_error,
                                        Exception: _on_unexpected_error})
    app.state.dashboard = state
    return app
