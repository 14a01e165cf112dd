"""Tracker binding endpoints: resources, bind-resolve/confirm/validate, mission origin.

Shapes: Spec Kitty tracker reference §2 (missions 061/062 additions) and §5 (origin).
``bind-confirm`` and ``mission-origin/bind`` are writes and need ``Idempotency-Key``;
both are idempotent by nature too (the same request again returns the same answer).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spec_kitty_hub.api.deps import DatabaseDep, PrincipalDep
from spec_kitty_hub.api.tracker_common import (
    KeyHeader,
    ProjectIdentity,
    Routed,
    TeamHeader,
    both_paths,
    provider_of,
    require_key,
    team_of,
)
from spec_kitty_hub.db.tracker_tables import TrackerMissionOrigin
from spec_kitty_hub.tracker import bindings
from spec_kitty_hub.tracker.problems import TrackerProblem

router = APIRouter(prefix="/api/v1/tracker", tags=["tracker"])


class ResolveIn(Routed):
    project_identity: ProjectIdentity


class ConfirmIn(ResolveIn):
    candidate_token: str = Field(min_length=1, max_length=64)


class ValidateIn(ResolveIn):
    binding_ref: str = Field(min_length=1, max_length=64)


class OriginIn(Routed):
    mission_id: str = Field(min_length=1, max_length=64)
    mission_slug: str = Field(min_length=1, max_length=200)
    external_issue_id: str = Field(min_length=1, max_length=200)
    external_issue_key: str | None = Field(default=None, max_length=200)
    external_issue_url: str | None = Field(default=None, max_length=2000)
    external_title: str | None = Field(default=None, max_length=2000)
    external_status: str | None = Field(default=None, max_length=64)


@both_paths(router, "GET", "/resources")
def resources(db: DatabaseDep, principal: PrincipalDep, team_slug: TeamHeader,
              provider: Annotated[str, Query(max_length=32)]) -> dict[str, Any]:
    """The team's bindable resources for ``provider`` (403 ``no_installation`` if none)."""
    team = team_of(db, principal, team_slug)
    with db.read() as session:
        return bindings.resources(session, team.id, provider_of(provider))


@both_paths(router, "POST", "/bind-resolve")
def bind_resolve(body: ResolveIn, db: DatabaseDep, principal: PrincipalDep,
                 team_slug: TeamHeader) -> dict[str, Any]:
    """Match a project to a resource: ``exact``, ``candidates`` or ``none``."""
    team = team_of(db, principal, team_slug)
    with db.read() as session:
        return bindings.resolve(session, team.id, provider_of(body.provider),
                                body.model_dump())


@both_paths(router, "POST", "/bind-confirm")
def bind_confirm(body: ConfirmIn, db: DatabaseDep, principal: PrincipalDep,
                 team_slug: TeamHeader, idempotency_key: KeyHeader = None) -> dict[str, Any]:
    """Bind the project to the chosen candidate; returns the ``binding_ref``."""
    team = team_of(db, principal, team_slug)
    require_key(idempotency_key)
    with db.write() as session:
        return bindings.confirm(session, team.id, provider_of(body.provider),
                                body.model_dump())


@both_paths(router, "POST", "/bind-validate")
def bind_validate(body: ValidateIn, db: DatabaseDep, principal: PrincipalDep,
                  team_slug: TeamHeader) -> dict[str, Any]:
    """Always 200: ``valid`` plus ``reason`` (mapping_deleted, mapping_disabled,
    project_mismatch) and ``guidance``."""
    team = team_of(db, principal, team_slug)
    with db.read() as session:
        return bindings.validate(session, team.id, provider_of(body.provider),
                                 body.model_dump())


@both_paths(router, "POST", "/mission-origin/bind")
def mission_origin_bind(body: OriginIn, db: DatabaseDep, principal: PrincipalDep,
                        team_slug: TeamHeader, idempotency_key: KeyHeader = None
                        ) -> dict[str, Any]:
    """Record the ticket a mission came from; the same origin again is a no-op, a
    different one 409 ``already_bound``."""
    team = team_of(db, principal, team_slug)
    require_key(idempotency_key)
    provider = provider_of(body.provider)
    try:
        with db.write() as session:
            return _bind_origin(session, team.id, provider, body)
    except IntegrityError:
        # Another request bound this mission between our read and our insert (PostgreSQL;
        # SQLite serialises writers): read again, which answers replayed or 409.
        with db.write() as session:
            return _bind_origin(session, team.id, provider, body)


def _bind_origin(session: Session, team_id: int, provider: str,
                 body: OriginIn) -> dict[str, Any]:
    ref = None
    if body.binding_ref or body.project_slug:
        ref = bindings.route(session, team_id, provider, body.binding_ref,
                             body.project_slug)[0].binding_ref
    row = session.scalar(select(TrackerMissionOrigin).where(
        TrackerMissionOrigin.team_id == team_id,
        TrackerMissionOrigin.mission_id == body.mission_id))
    if row is not None:
        if (row.provider, row.external_issue_id) != (provider, body.external_issue_id):
            bound = row.external_issue_key or row.external_issue_id
            raise TrackerProblem(409, "already_bound",
                                 f"Mission {body.mission_slug} is already bound to "
                                 f"{row.provider}:{bound}.", provider=provider)
        replayed = True
    else:
        row = TrackerMissionOrigin(
            team_id=team_id, mission_id=body.mission_id, mission_slug=body.mission_slug,
            provider=provider, external_issue_id=body.external_issue_id,
            external_issue_key=body.external_issue_key,
            external_issue_url=body.external_issue_url,
            external_title=body.external_title, external_status=body.external_status,
            binding_ref=ref)
        session.add(row)
        session.flush()
        replayed = False
    return {"bound": True, "replayed": replayed, "mission_id": row.mission_id,
            "mission_slug": row.mission_slug, "provider": row.provider,
            "external_issue_id": row.external_issue_id,
            "external_issue_key": row.external_issue_key,
            "external_issue_url": row.external_issue_url,
            "binding_ref": row.binding_ref, "bound_at": row.bound_at.isoformat()}
