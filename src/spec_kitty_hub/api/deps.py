"""Request dependencies shared by every route: database, settings, callers.

``require_principal`` (bearer token) and ``require_team`` (team scoping) are the seams
every later team-scoped endpoint uses: a team the caller is not a member of answers 404
exactly as a team that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from spec_kitty_hub.config import Settings
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.db.models import Team
from spec_kitty_hub.services.accounts import member_team
from spec_kitty_hub.services.tokens import Principal, resolve_access_token

_bearer = HTTPBearer(auto_error=False, description="An access token from /oauth/token.")


class ApiErrorBody(BaseModel):
    """Error body of the JSON API: a stable ``error`` code and a sentence."""

    error: str
    error_description: str


class ApiProblem(Exception):
    """Raised by routes; rendered as ``ApiErrorBody`` with ``status``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def get_db(request: Request) -> Database:
    db = request.app.state.db
    assert isinstance(db, Database)
    return db


def get_settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def require_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of a bearer-authenticated endpoint.

    Raises ApiProblem 401 ``invalid_token`` for a missing, unknown, expired or revoked
    token (RFC 6750 §3.1).
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiProblem(401, "invalid_token", "A bearer access token is required.")
    with get_db(request).read() as session:
        principal = resolve_access_token(session, credentials.credentials)
    if principal is None:
        raise ApiProblem(401, "invalid_token",
                         "The access token is invalid, expired or revoked.")
    return principal


PrincipalDep = Annotated[Principal, Depends(require_principal)]
DatabaseDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_team(db: Database, principal: Principal, slug: str) -> tuple[Team, str]:
    """The team ``slug`` and the caller's role; ApiProblem 404 ``team_not_found``
    when the caller is not a member (or it does not exist)."""
    with db.read() as session:
        found = member_team(session, principal.user_id, slug)
    if found is None:
        raise ApiProblem(404, "team_not_found", f"No team {slug!r} for this account.")
    return found


def client_address(request: Request) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def public_base_url(request: Request) -> str:
    settings = get_settings(request)
    return settings.public_url or str(request.base_url).rstrip("/")
