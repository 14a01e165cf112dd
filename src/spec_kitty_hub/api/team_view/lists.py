"""The team view's list pages (HTML, session cookie): teams, a team's projects, a
project's missions. Data comes from ``services.views``; templates only render it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

import spec_kitty.core
from spec_kitty_hub.api.deps import DatabaseDep
from spec_kitty_hub.api.pages_signin import login_redirect
from spec_kitty_hub.api.team_view.scope import TeamScope, not_found, page_scope
from spec_kitty_hub.api.web import current_user, render
from spec_kitty_hub.services.views.projects import project_page
from spec_kitty_hub.services.views.teams import team_projects, user_teams

router = APIRouter(include_in_schema=False)
# The board renderer shared with the local dashboard ships with spec_kitty.core.
SHARED_ASSETS = {
    "board.js": "text/javascript; charset=utf-8",
    "board.css": "text/css; charset=utf-8",
}
SHARED_DIR = Path(spec_kitty.core.__file__).parent / "static"


@router.get("/static/shared/{name}")
def shared_asset(name: str) -> Response:
    """board.js / board.css (an allow-list: no request path reaches the filesystem)."""
    media_type = SHARED_ASSETS.get(name)
    if media_type is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    return FileResponse(SHARED_DIR / name, media_type=media_type,
                        headers={"Cache-Control": "no-cache",
                                 "X-Content-Type-Options": "nosniff"})


@router.get("/teams")
def teams_page(request: Request, db: DatabaseDep) -> Response:
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    with db.read() as session:
        teams = user_teams(session, user.id)
    return render(request, "teams.html", {"user": user, "teams": teams})


@router.get("/t/{team}")
def team_page(request: Request, team: str, db: DatabaseDep) -> Response:
    scope = page_scope(request, team)
    if not isinstance(scope, TeamScope):
        return scope
    with db.read() as session:
        projects = team_projects(session, scope.team_id)
    return render(request, "team.html", {"user": scope.user, "team": scope,
                                         "projects": projects})


@router.get("/t/{team}/p/{project_uuid}")
def project_view(request: Request, team: str, project_uuid: str, db: DatabaseDep) -> Response:
    scope = page_scope(request, team)
    if not isinstance(scope, TeamScope):
        return scope
    with db.read() as session:
        page = project_page(session, scope.team_id, project_uuid)
    if page is None:
        return not_found(request, scope.user)
    return render(request, "project.html", {"user": scope.user, "team": scope, **page})

