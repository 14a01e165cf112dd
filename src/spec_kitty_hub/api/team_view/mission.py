"""A mission's page, a work package's history, a document, and the live stream.

- ``GET /t/{team}/p/{project}/m/{mission}``: board, documents, timeline (HTML)
- ``GET …/m/{mission}/timeline?before=SEQ``: older events, 100 a page (HTML)
- ``GET …/m/{mission}/wp/{wp_id}``: the work package's history across lanes (HTML)
- ``GET …/m/{mission}/documents/{path}``: one document's latest body (HTML)
- ``GET …/m/{mission}/live``: ``{board, timeline_html, cursor}`` the page re-renders
- ``GET …/m/{mission}/events/stream``: server-sent events, ``change`` with ``{"cursor"}``
  whenever the mission gets a new stored event or document (polls the database, so
  every worker and every hub process on one database sees every ingest)

All are scoped to the signed-in user's team: anything else is 404.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from spec_kitty_hub.api.deps import DatabaseDep, get_db
from spec_kitty_hub.api.team_view.scope import TeamScope, not_found, page_scope, resolve
from spec_kitty_hub.api.web import SESSION_COOKIE, TEMPLATES, render
from spec_kitty_hub.services.views import live
from spec_kitty_hub.services.views.mission import (
    document,
    live_board,
    mission_page,
    scoped_mission,
    timeline_page,
    work_package_page,
)

router = APIRouter(include_in_schema=False)
MISSION = "/t/{team}/p/{project_uuid}/m/{mission_slug}"
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long; the browser reconnects (and its session is re-checked).
STREAM_SECONDS = 300.0
MAX_SEQUENCE = 2**63 - 1  # the database's integer range: a larger cursor is a 422
JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _links(team: str, project_uuid: str, mission_slug: str) -> dict[str, str]:
    base = f"/t/{team}/p/{project_uuid}/m/{mission_slug}"
    return {"team": f"/t/{team}", "project": f"/t/{team}/p/{project_uuid}", "mission": base,
            "live": f"{base}/live", "stream": f"{base}/events/stream"}


def _scoped_page(request: Request, team: str, project_uuid: str, mission_slug: str,
                 db: DatabaseDep, template: str,
                 build: Callable[[Session, int], dict[str, Any] | None],
                 **extra: Any) -> Response:
    """Render ``template`` with what ``build(session, team_id)`` returns: the sign-in
    redirect for nobody, 404 for another team or when ``build`` finds nothing."""
    scope = page_scope(request, team)
    if not isinstance(scope, TeamScope):
        return scope
    with db.read() as session:
        page = build(session, scope.team_id)
    if page is None:
        return not_found(request, scope.user)
    return render(request, template, {
        "user": scope.user, "team": scope, "links": _links(team, project_uuid, mission_slug),
        **extra, **page})


@router.get(MISSION)
def mission_view(request: Request, team: str, project_uuid: str, mission_slug: str,
                 db: DatabaseDep) -> Response:
    return _scoped_page(request, team, project_uuid, mission_slug, db, "mission.html",
                        lambda session, team_id: mission_page(session, team_id, project_uuid,
                                                              mission_slug))


@router.get(MISSION + "/timeline")
def timeline_view(request: Request, team: str, project_uuid: str, mission_slug: str,
                  db: DatabaseDep,
                  before: int | None = Query(default=None, ge=1, le=MAX_SEQUENCE)) -> Response:
    """The mission's events below sequence ``before``, newest first, 100 a page."""
    return _scoped_page(request, team, project_uuid, mission_slug, db, "timeline.html",
                        lambda session, team_id: timeline_page(
                            session, team_id, project_uuid, mission_slug, before),
                        before=before)


@router.get(MISSION + "/wp/{wp_id}")
def work_package_view(request: Request, team: str, project_uuid: str, mission_slug: str,
                      wp_id: str, db: DatabaseDep) -> Response:
    return _scoped_page(request, team, project_uuid, mission_slug, db, "work_package.html",
                        lambda session, team_id: work_package_page(
                            session, team_id, project_uuid, mission_slug, wp_id),
                        wp_id=wp_id)


@router.get(MISSION + "/documents/{path:path}")
def document_view(request: Request, team: str, project_uuid: str, mission_slug: str,
                  path: str, db: DatabaseDep) -> Response:
    def build(session: Session, team_id: int) -> dict[str, Any] | None:
        found = scoped_mission(session, team_id, project_uuid, mission_slug)
        doc = document(session, found[1], path) if found is not None else None
        if found is None or doc is None:
            return None
        return {"mission": found[1], "project": found[0], "document": doc}

    return _scoped_page(request, team, project_uuid, mission_slug, db, "document.html", build)


def _api_scope(request: Request, team: str) -> TeamScope | JSONResponse:
    user, scope = resolve(request, team)
    if user is None:
        return JSONResponse({"error": "not_signed_in"}, status_code=401, headers=JSON_HEADERS)
    if scope is None:
        return JSONResponse({"error": "not_found"}, status_code=404, headers=JSON_HEADERS)
    return scope


@router.get(MISSION + "/live")
def live_view(request: Request, team: str, project_uuid: str, mission_slug: str,
              db: DatabaseDep) -> Response:
    """The board model and the rendered timeline, for the open page to swap in."""
    scope = _api_scope(request, team)
    if not isinstance(scope, TeamScope):
        return scope
    with db.read() as session:
        data = live_board(session, scope.team_id, project_uuid, mission_slug)
    if data is None:
        return JSONResponse({"error": "not_found"}, status_code=404, headers=JSON_HEADERS)
    timeline_html = TEMPLATES.get_template("_timeline.html").render(
        timeline=data["timeline"], older_before=data["older_before"],
        links=_links(team, project_uuid, mission_slug))
    return Response(orjson.dumps({"board": data["board"], "timeline_html": timeline_html,
                                  "cursor": data["cursor"]}),
                    media_type="application/json", headers=JSON_HEADERS)


def _sse(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {orjson.dumps(data).decode()}\n\n".encode()


@router.get(MISSION + "/events/stream")
async def event_stream(request: Request, team: str, project_uuid: str,
                       mission_slug: str) -> Response:
    """``ready`` with the current cursor, then ``change`` on each new stored event or
    document (``cursor``: see ``services.views.live``)."""
    scope = await run_in_threadpool(_api_scope, request, team)
    if not isinstance(scope, TeamScope):
        return scope
    db = get_db(request)

    def start() -> tuple[int, str] | None:
        with db.read() as session:
            found = scoped_mission(session, scope.team_id, project_uuid, mission_slug)
            return (found[1].id, live.mission_cursor(session, found[1])) if found else None

    started = await run_in_threadpool(start)
    if started is None:
        return JSONResponse({"error": "not_found"}, status_code=404, headers=JSON_HEADERS)
    mission_id, cursor = started

    # Signing out or being disabled ends an open stream at the next poll, not when the
    # stream's time is up.
    cookie = request.cookies.get(SESSION_COOKIE, "")

    def poll() -> str | None:
        with db.read() as session:
            return live.poll(session, scope.user.id, mission_id, cookie)

    async def events() -> AsyncIterator[bytes]:
        seen = cursor
        yield b"retry: 1000\n\n" + _sse("ready", {"cursor": seen}, seen)
        ends = time.monotonic() + STREAM_SECONDS
        beat = time.monotonic() + HEARTBEAT_SECONDS
        while time.monotonic() < ends and not await request.is_disconnected():
            await asyncio.sleep(POLL_SECONDS)
            latest = await run_in_threadpool(poll)
            if latest is None:  # no longer a member, or the mission is gone
                yield _sse("gone", {})
                return
            if latest != seen:
                seen = latest
                yield _sse("change", {"cursor": seen}, seen)
            elif time.monotonic() > beat:
                yield b": keep-alive\n\n"
            else:
                continue
            beat = time.monotonic() + HEARTBEAT_SECONDS

    return StreamingResponse(events(), media_type="text/event-stream", headers={
        **JSON_HEADERS, "X-Accel-Buffering": "no"})
