"""Who is asking and which of their teams: the first step of every team page and stream.

A team the signed-in user is not a member of answers 404 exactly like a team that does
not exist (never 403), so team slugs, project uuids and mission slugs cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from spec_kitty_hub.api.deps import get_db
from spec_kitty_hub.api.pages_signin import login_redirect
from spec_kitty_hub.api.web import SESSION_COOKIE, render
from spec_kitty_hub.db.models import User
from spec_kitty_hub.services.accounts import member_team
from spec_kitty_hub.services.signin import web_session_user


@dataclass(frozen=True)
class TeamScope:
    """The signed-in user and one of their teams."""

    user: User
    team_id: int
    team_slug: str
    team_name: str
    role: str


def resolve(request: Request, team: str) -> tuple[User | None, TeamScope | None]:
    """(user or None when not signed in, scope or None when not a member)."""
    with get_db(request).read() as session:
        user = web_session_user(session, request.cookies.get(SESSION_COOKIE))
        if user is None:
            return None, None
        found = member_team(session, user.id, team)
    if found is None:
        return user, None
    row, role = found
    return user, TeamScope(user, row.id, row.slug, row.name, role)


def not_found(request: Request, user: User | None) -> HTMLResponse:
    return render(request, "error.html", {
        "user": user, "title": "Not found",
        "message": "There is no such page, or it belongs to a team you are not in."},
        status_code=404)


def page_scope(request: Request, team: str) -> TeamScope | Response:
    """The scope of a team page, else the answer to send: sign-in redirect or 404."""
    user, scope = resolve(request, team)
    if user is None:
        return login_redirect(request)
    return scope if scope is not None else not_found(request, user)
