"""Tracker sync endpoints: status, mappings, pull, push, run, operations, search, tickets.

Shapes: Spec Kitty tracker reference §2 (the PRI-12 contract). ``push``/``run`` enqueue
a durable job (:mod:`spec_kitty_hub.tracker.jobs`) and wait for it briefly
(``SPEC_KITTY_HUB_TRACKER_WAIT`` seconds, default 10): finished in time → 200 with the
result, else 202 ``{operation_id, status}`` to poll at ``operations/{id}/``. A request
with ``Prefer: respond-async`` (RFC 7240) gets the 202 at once. A repeated
``Idempotency-Key`` returns the same operation with ``Idempotency-Replayed: true``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from spec_kitty_hub.api.deps import DatabaseDep, PrincipalDep
from spec_kitty_hub.api.tracker_common import (
    KeyHeader,
    Routed,
    TeamHeader,
    both_paths,
    provider_of,
    require_key,
    team_of,
)
from spec_kitty_hub.connectors import ConnectorError, IssueConnector
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.db.models import utcnow
from spec_kitty_hub.db.tracker_tables import (
    TrackerBinding,
    TrackerConnection,
    TrackerJob,
    TrackerMapping,
)
from spec_kitty_hub.tracker import bindings, jobs
from spec_kitty_hub.tracker.connections import RESOURCE_TYPE, team_connections
from spec_kitty_hub.tracker.operations import identity_path, pull, ticket
from spec_kitty_hub.tracker.problems import from_connector
from spec_kitty_hub.tracker.worker import connector_for

WAIT_ENV = "SPEC_KITTY_HUB_TRACKER_WAIT"
router = APIRouter(prefix="/api/v1/tracker", tags=["tracker"])


class PullIn(Routed):
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, max_length=64)


class PushIn(Routed):
    items: list[dict[str, Any]] = Field(max_length=500)


class RunIn(Routed):
    pull_first: bool = True
    limit: int = Field(default=100, ge=1, le=1000)
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=500)


class SearchIn(Routed):
    limit: int = Field(default=5, ge=1, le=100)
    query_key: str | None = Field(default=None, max_length=200)
    query_text: str | None = Field(default=None, max_length=500)


class TicketsIn(Routed):
    limit: int = Field(default=20, ge=1, le=100)


@contextmanager
def provider_call(db: Database, team_id: int, ref: str
                  ) -> Iterator[tuple[TrackerBinding, TrackerConnection, IssueConnector]]:
    """The binding's connector for one request; provider failures become envelopes."""
    binding, row, connector = connector_for(db, team_id, ref)
    try:
        yield binding, row, connector
    except ConnectorError as error:
        raise from_connector(error) from None
    finally:
        connector.close()


def _routed(db: Database, team_id: int, body: Routed) -> tuple[str, str]:
    provider = provider_of(body.provider)
    with db.read() as session:
        binding, _ = bindings.route(session, team_id, provider, body.binding_ref,
                                    body.project_slug)
    return provider, binding.binding_ref


@both_paths(router, "GET", "/status")
def status(db: DatabaseDep, principal: PrincipalDep, team_slug: TeamHeader,
           provider: Annotated[str, Query(max_length=32)],
           binding_ref: Annotated[str | None, Query(max_length=64)] = None,
           project_slug: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    """One binding's state, or with only ``provider`` the team-wide view."""
    team = team_of(db, principal, team_slug)
    name = provider_of(provider)
    with db.read() as session:
        if not (binding_ref or project_slug):
            rows = team_connections(session, team.id, name)
            count = session.scalars(select(TrackerBinding).where(
                TrackerBinding.team_id == team.id,
                TrackerBinding.connection_id.in_([r.id for r in rows]))).all()
            return {"provider": name, "connected": bool(rows), "bindings": len(count),
                    "resource_count": len(rows)}
        binding, row = bindings.route(session, team.id, name, binding_ref, project_slug)
        pending = session.scalars(select(TrackerJob.id).where(
            TrackerJob.binding_ref == binding.binding_ref,
            TrackerJob.status.in_(("pending", "running")))).all()
        return {"configured": True, "provider": name, "binding_ref": binding.binding_ref,
                "project_slug": binding.project_slug, "display_label": row.display_label,
                "provider_context": {"resource_type": RESOURCE_TYPE[name],
                                     "resource_id": row.resource_id},
                "identity_path": identity_path(row),
                "sync_state": {"last_pull_at": binding.last_pull_at.isoformat()
                               if binding.last_pull_at else None,
                               "pending_operations": len(pending)}}


@both_paths(router, "GET", "/mappings")
def mappings(db: DatabaseDep, principal: PrincipalDep, team_slug: TeamHeader,
             provider: Annotated[str, Query(max_length=32)],
             binding_ref: Annotated[str | None, Query(max_length=64)] = None,
             project_slug: Annotated[str | None, Query(max_length=200)] = None
             ) -> dict[str, Any]:
    """Work package ↔ issue mappings of one binding (or of every binding of the provider)."""
    team = team_of(db, principal, team_slug)
    name = provider_of(provider)
    with db.read() as session:
        query = select(TrackerMapping).where(TrackerMapping.team_id == team.id)
        if binding_ref or project_slug:
            binding, _ = bindings.route(session, team.id, name, binding_ref, project_slug)
            query = query.where(TrackerMapping.binding_ref == binding.binding_ref)
        rows = session.scalars(query.order_by(TrackerMapping.mission_slug,
                                              TrackerMapping.wp_id)).all()
        return {"mappings": [{"mission_slug": m.mission_slug, "wp_id": m.wp_id,
                              "binding_ref": m.binding_ref, "external_id": m.external_id,
                              "external_key": m.external_key, "external_url": m.external_url,
                              "updated_at": m.updated_at.isoformat()} for m in rows]}


@both_paths(router, "POST", "/pull")
def pull_issues(body: PullIn, db: DatabaseDep, principal: PrincipalDep,
                team_slug: TeamHeader) -> dict[str, Any]:
    """One page of normalised issues changed since ``cursor``."""
    team = team_of(db, principal, team_slug)
    _, ref = _routed(db, team.id, body)
    with provider_call(db, team.id, ref) as (binding, row, connector):
        result = pull(connector, row, limit=body.limit, cursor=body.cursor)
    with db.write() as session:
        stored = session.get(TrackerBinding, binding.binding_ref)
        if stored is not None:
            stored.last_pull_at = utcnow()
    return result


def _submit(request: Request, db: Database, team_id: int, ref: str, kind: str,
            payload: dict[str, Any], key: str, prefer: str | None) -> JSONResponse:
    with db.write() as session:
        job, replayed = jobs.enqueue(session, team_id, ref, kind, payload, key)
        job_id = job.id
    worker = getattr(request.app.state, "tracker_worker", None)
    if worker is not None and not replayed:
        worker.kick()
    wait = 0.0 if prefer and "respond-async" in prefer.lower() \
        else float(os.environ.get(WAIT_ENV, "10") or 0)
    deadline = time.monotonic() + wait
    headers = {"Idempotency-Replayed": "true"} if replayed else {}
    while True:
        with db.read() as session:
            body = jobs.operation(jobs.get(session, team_id, job_id))
        if body["status"] == "completed":
            return JSONResponse(body["result"], headers=headers)
        if body["status"] == "failed" or time.monotonic() >= deadline:
            return JSONResponse({"operation_id": job_id, "status": body["status"]},
                                status_code=202, headers=headers)
        time.sleep(0.05)


@both_paths(router, "POST", "/push", status_code=200)
def push(body: PushIn, request: Request, db: DatabaseDep, principal: PrincipalDep,
         team_slug: TeamHeader, idempotency_key: KeyHeader = None,
         prefer: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Apply push items as a durable job (200 result, or 202 to poll)."""
    team = team_of(db, principal, team_slug)
    key = require_key(idempotency_key)
    _, ref = _routed(db, team.id, body)
    return _submit(request, db, team.id, ref, "push", {"items": body.items}, key, prefer)


@both_paths(router, "POST", "/run", status_code=200)
def run(body: RunIn, request: Request, db: DatabaseDep, principal: PrincipalDep,
        team_slug: TeamHeader, idempotency_key: KeyHeader = None,
        prefer: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Push the items (if any), then pull (``pull_first``), as one durable job."""
    team = team_of(db, principal, team_slug)
    key = require_key(idempotency_key)
    _, ref = _routed(db, team.id, body)
    payload = {"items": body.items, "limit": body.limit, "pull_first": body.pull_first}
    return _submit(request, db, team.id, ref, "run", payload, key, prefer)


@both_paths(router, "GET", "/operations/{operation_id}")
def operation(operation_id: str, db: DatabaseDep, principal: PrincipalDep,
              team_slug: TeamHeader) -> dict[str, Any]:
    """``{operation_id, status: pending|running|completed|failed, result?, error?}``."""
    team = team_of(db, principal, team_slug)
    with db.read() as session:
        return jobs.operation(jobs.get(session, team.id, operation_id))


def _search_target(db: Database, team_id: int, body: Routed) -> str:
    """The binding to search through: the routed one, or the provider's only binding."""
    if body.binding_ref or body.project_slug:
        return _routed(db, team_id, body)[1]
    provider = provider_of(body.provider)
    with db.read() as session:
        refs = session.scalars(select(TrackerBinding.binding_ref).where(
            TrackerBinding.team_id == team_id,
            TrackerBinding.connection_id.in_(
                [r.id for r in team_connections(session, team_id, provider)]))).all()
    if len(set(refs)) != 1:
        return _routed(db, team_id, body)[1]  # raises missing_routing_key
    return refs[0]


@both_paths(router, "POST", "/issue-search")
def issue_search(body: SearchIn, db: DatabaseDep, principal: PrincipalDep,
                 team_slug: TeamHeader) -> dict[str, Any]:
    """Issues whose key equals ``query_key`` or whose text contains ``query_text``."""
    team = team_of(db, principal, team_slug)
    ref = _search_target(db, team.id, body)
    with provider_call(db, team.id, ref) as (_, row, connector):
        found = connector.search_issues(body.query_key or body.query_text or "",
                                        limit=body.limit)
    return {"candidates": [ticket(issue) for issue in found],
            "resource_type": RESOURCE_TYPE[row.provider], "resource_id": row.resource_id}


@both_paths(router, "POST", "/list-tickets")
def list_tickets(body: TicketsIn, db: DatabaseDep, principal: PrincipalDep,
                 team_slug: TeamHeader) -> dict[str, Any]:
    """The binding's issues, most recently updated last (at most ``limit``)."""
    team = team_of(db, principal, team_slug)
    _, ref = _routed(db, team.id, body)
    with provider_call(db, team.id, ref) as (_, _, connector):
        found = list(connector.list_issues(limit=body.limit))
    return {"tickets": [ticket(issue) for issue in found]}
