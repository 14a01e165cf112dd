"""Who am I: ``GET /api/v1/me``, ``GET /api/v1/session-status``, ``GET /api/v1/teams/{id}``.

Shapes follow /work/shared/reference/sync-subsystem.md §3.2 ("Identity"): a team's
``id`` is its slug, the private teamspace comes first.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from spec_kitty_hub.api.deps import ApiErrorBody, DatabaseDep, PrincipalDep, require_team
from spec_kitty_hub.services.accounts import team_members, teams_of
from spec_kitty_hub.services.tokens import refresh_expiry

router = APIRouter(prefix="/api/v1", tags=["identity"])
UNAUTHORIZED: dict[int | str, dict[str, object]] = {
    401: {"model": ApiErrorBody, "description": "Missing, invalid, expired or revoked token"},
}


class TeamOut(BaseModel):
    id: str
    name: str
    role: str
    is_private_teamspace: bool


class MeOut(BaseModel):
    user_id: int
    email: str
    name: str
    teams: list[TeamOut]


class SessionStatusOut(BaseModel):
    """Times are ISO 8601 UTC."""

    active: bool
    session_id: str
    user_id: int
    email: str
    auth_method: str
    scope: str
    generation: int
    created_at: datetime
    access_token_expires_at: datetime
    refresh_token_expires_at: datetime | None


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: str


class TeamDetailOut(TeamOut):
    members: list[MemberOut]


@router.get("/me", response_model=MeOut, responses=UNAUTHORIZED)
def me(principal: PrincipalDep, db: DatabaseDep) -> MeOut:
    """The caller and their teams (never empty: every user has a private teamspace)."""
    with db.read() as session:
        teams = teams_of(session, principal.user_id)
    return MeOut(user_id=principal.user_id, email=principal.email, name=principal.name,
                 teams=[TeamOut(id=t.id, name=t.name, role=t.role,
                                is_private_teamspace=t.is_private_teamspace) for t in teams])


@router.get("/session-status", response_model=SessionStatusOut, responses=UNAUTHORIZED)
def session_status(principal: PrincipalDep, db: DatabaseDep) -> SessionStatusOut:
    """The OAuth session behind the bearer token (used by ``auth doctor --server``)."""
    with db.read() as session:
        refresh_expires = refresh_expiry(session, principal.session_id)
    return SessionStatusOut(
        active=True, session_id=principal.session_id, user_id=principal.user_id,
        email=principal.email, auth_method=principal.auth_method, scope=principal.scope,
        generation=principal.generation, created_at=principal.session_created_at,
        access_token_expires_at=principal.access_expires_at,
        refresh_token_expires_at=refresh_expires)


@router.get("/teams/{team_id}", response_model=TeamDetailOut, responses={
    **UNAUTHORIZED, 404: {"model": ApiErrorBody, "description": "Not a team of the caller"}})
def team_detail(team_id: str, principal: PrincipalDep, db: DatabaseDep) -> TeamDetailOut:
    """One of the caller's teams with its members; 404 for any other team."""
    team, role = require_team(db, principal, team_id)
    with db.read() as session:
        members = team_members(session, team.id)
    return TeamDetailOut(
        id=team.slug, name=team.name, role=role,
        is_private_teamspace=team.is_private_teamspace,
        members=[MemberOut(user_id=u.id, email=u.email, name=u.name, role=r)
                 for u, r in members])
