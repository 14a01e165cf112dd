"""Bindings: which team connection a project routes to, and how a project gets one.

``resources`` lists bindable connections (their ``candidate_token`` is the
connection's public token); ``resolve`` matches a ``project_identity``; ``confirm``
creates the binding (``binding_ref`` = ``srm_…``), idempotently; ``validate`` checks a
``binding_ref`` still works; :func:`route` turns a request's ``binding_ref`` (wins) or
``project_slug`` into the binding and its connection, always within the caller's team.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty_hub.db.tracker_tables import TrackerBinding, TrackerConnection
from spec_kitty_hub.tracker.connections import RESOURCE_TYPE, team_connections
from spec_kitty_hub.tracker.problems import TrackerProblem


def _iso(binding: TrackerBinding) -> str:
    return binding.bound_at.isoformat()


def _context(row: TrackerConnection) -> dict[str, str]:
    return {"resource_type": RESOURCE_TYPE[row.provider], "resource_id": row.resource_id}


def _bindings_of(session: Session, connection_id: int) -> list[TrackerBinding]:
    return list(session.scalars(select(TrackerBinding).where(
        TrackerBinding.connection_id == connection_id).order_by(TrackerBinding.bound_at)))


def resources(session: Session, team_id: int, provider: str) -> dict[str, Any]:
    """``GET resources/``: the team's connections for ``provider``; 403
    ``no_installation`` when the team has none."""
    rows = team_connections(session, team_id, provider)
    if not rows:
        raise TrackerProblem(403, "no_installation",
                             f"No {provider} connection exists for this team: ask a hub "
                             "admin to run `spec-kitty-hub tracker connect`.",
                             provider=provider, user_action_required=True)
    out = []
    for row in rows:
        bound = _bindings_of(session, row.id)
        out.append({"candidate_token": row.public_token, "display_label": row.display_label,
                    "provider": provider, "provider_context": _context(row),
                    "binding_ref": bound[0].binding_ref if bound else None,
                    "bound_project_slug": bound[0].project_slug if bound else None,
                    "bound_at": _iso(bound[0]) if bound else None})
    return {"resources": out, "installation_id": f"team-{team_id}", "provider": provider}


def _identity(payload: dict[str, Any]) -> tuple[str, str]:
    identity = payload.get("project_identity")
    if not isinstance(identity, dict) or not str(identity.get("uuid") or "").strip():
        raise TrackerProblem(400, "invalid_request", "project_identity.uuid is required.")
    return str(identity["uuid"]).strip(), str(identity.get("slug") or "").strip()


def resolve(session: Session, team_id: int, provider: str, payload: dict[str, Any]
            ) -> dict[str, Any]:
    """``POST bind-resolve/``: ``exact`` (already bound, or one resource named like the
    project), ``candidates`` (numbered from ``sort_position`` 0) or ``none``."""
    uuid, slug = _identity(payload)
    rows = team_connections(session, team_id, provider)
    for row in rows:
        for binding in _bindings_of(session, row.id):
            if binding.project_uuid == uuid and not binding.disabled:
                return {"match_type": "exact", "candidate_token": row.public_token,
                        "binding_ref": binding.binding_ref, "display_label": row.display_label,
                        "project_slug": binding.project_slug, "candidates": []}
    named = [row for row in rows if slug and row.resource_id.rsplit("/", 1)[-1].lower()
             == slug.lower()]
    if len(named) == 1:
        row = named[0]
        return {"match_type": "exact", "candidate_token": row.public_token,
                "binding_ref": None, "display_label": row.display_label,
                "project_slug": slug, "candidates": []}
    candidates = [{"candidate_token": row.public_token, "display_label": row.display_label,
                   "confidence": "medium" if len(rows) == 1 else "low",
                   "match_reason": "only connection" if len(rows) == 1 else "team connection",
                   "sort_position": index} for index, row in enumerate(rows)]
    return {"match_type": "candidates" if candidates else "none", "candidate_token": None,
            "binding_ref": None, "display_label": None, "project_slug": None,
            "candidates": candidates}


def confirm(session: Session, team_id: int, provider: str, payload: dict[str, Any]
            ) -> dict[str, Any]:
    """``POST bind-confirm/``: bind the project to the candidate; the same project and
    candidate again return the same ``binding_ref``."""
    uuid, slug = _identity(payload)
    token = str(payload.get("candidate_token") or "")
    row = session.scalar(select(TrackerConnection).where(
        TrackerConnection.public_token == token, TrackerConnection.team_id == team_id,
        TrackerConnection.provider == provider))
    if row is None:
        raise TrackerProblem(400, "invalid_candidate_token",
                             "The candidate token is unknown or expired.", provider=provider)
    binding = session.scalar(select(TrackerBinding).where(
        TrackerBinding.connection_id == row.id, TrackerBinding.project_uuid == uuid))
    if binding is None:
        binding = TrackerBinding(binding_ref="srm_" + secrets.token_hex(12), team_id=team_id,
                                 connection_id=row.id, project_uuid=uuid,
                                 project_slug=slug or row.resource_id, disabled=False)
        session.add(binding)
        session.flush()
    return {"binding_ref": binding.binding_ref, "display_label": row.display_label,
            "provider": provider, "provider_context": _context(row),
            "bound_at": _iso(binding), "project_slug": binding.project_slug}


def validate(session: Session, team_id: int, provider: str, payload: dict[str, Any]
             ) -> dict[str, Any]:
    """``POST bind-validate/``: always an answer, ``valid`` with a ``reason``."""
    uuid, _ = _identity(payload)
    ref = str(payload.get("binding_ref") or "")
    found = session.execute(select(TrackerBinding, TrackerConnection).join(
        TrackerConnection, TrackerConnection.id == TrackerBinding.connection_id).where(
        TrackerBinding.binding_ref == ref, TrackerBinding.team_id == team_id,
        TrackerConnection.provider == provider)).first()
    guidance = f"Run `spec-kitty tracker bind --provider {provider}`."
    if found is None:
        return {"valid": False, "reason": "mapping_deleted", "guidance": guidance}
    binding, row = found
    if binding.disabled:
        return {"valid": False, "reason": "mapping_disabled", "guidance": guidance}
    if binding.project_uuid != uuid:
        return {"valid": False, "reason": "project_mismatch", "guidance": guidance}
    return {"valid": True, "reason": None, "guidance": None, "binding_ref": ref,
            "display_label": row.display_label, "provider": provider,
            "provider_context": _context(row), "project_slug": binding.project_slug}


def route(session: Session, team_id: int, provider: str, binding_ref: str | None,
          project_slug: str | None) -> tuple[TrackerBinding, TrackerConnection]:
    """The binding a request names. 400 ``missing_routing_key`` without either key;
    404 ``binding_not_found``; 409 ``mapping_disabled``."""
    if not (binding_ref or project_slug):
        raise TrackerProblem(400, "missing_routing_key",
                             "Give binding_ref or project_slug.", provider=provider)
    query = select(TrackerBinding, TrackerConnection).join(
        TrackerConnection, TrackerConnection.id == TrackerBinding.connection_id).where(
        TrackerBinding.team_id == team_id, TrackerConnection.provider == provider)
    query = query.where(TrackerBinding.binding_ref == binding_ref) if binding_ref \
        else query.where(TrackerBinding.project_slug == project_slug)
    found = session.execute(query.order_by(TrackerBinding.bound_at)).first()
    if found is None:
        raise TrackerProblem(404, "binding_not_found",
                             f"No {provider} binding {binding_ref or project_slug!r} for this "
                             "team.", provider=provider, user_action_required=True)
    binding, row = found
    if binding.disabled:
        raise TrackerProblem(409, "mapping_disabled", "This binding is disabled.",
                             provider=provider, user_action_required=True)
    return binding, row
