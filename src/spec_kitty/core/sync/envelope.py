"""The sync envelope: one JSON object per event sent from the CLI to the team hub.

This module is the contract shared by the CLI (which builds envelopes and queues them)
and the hub (which validates and stores them); it is pure, so the hub may import it.
Sources: /work/shared/reference/sync-subsystem.md §2.1 (envelope fields, schema
version 3.0.0) and /work/shared/reference/status-model.md §4 (the 4-group lane
collapse, events ``CANONICAL_TO_SYNC_V1``) and §5 (payload fields).

Envelope (see ``schemas/envelope.schema.json``)::

    event_id        ULID (26 chars, Crockford) or UUID; a WPStatusChanged reuses the
                    ``event_id`` of its line in status.events.jsonl, so the repo log
                    and the hub dedupe together
    event_type      one of EVENT_TYPES (the hub may accept more)
    aggregate_id    wp_id (WP events) or mission_id, else mission_slug (mission events)
    aggregate_type  "WorkPackage" or "Mission"
    schema_version  "3.0.0" exactly
    build_id, node_id, lamport_clock (int >= 0)
    causation_id    id of the event that caused this one, or null
    correlation_id  the causation id, else the event's own id
    timestamp       ISO-8601 occurrence time (never replaced by receipt time)
    team_slug, project_uuid, project_slug, git_branch, head_commit_sha, repo_slug
    payload         object, per event type (``schemas/<EventType>.schema.json``)

Validation helpers live in :mod:`spec_kitty.core.sync.schemas`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.status.lanes import Lane, UnknownLane, parse_lane

SCHEMA_VERSION = "3.0.0"

WP_STATUS_CHANGED = "WPStatusChanged"
WP_CREATED = "WPCreated"
MISSION_CREATED = "MissionCreated"
MISSION_ACCEPTED = "MissionAccepted"
MISSION_MERGED = "MissionMerged"
EVENT_TYPES: tuple[str, ...] = (
    WP_STATUS_CHANGED, WP_CREATED, MISSION_CREATED, MISSION_ACCEPTED, MISSION_MERGED)

AGGREGATE_WORK_PACKAGE = "WorkPackage"
AGGREGATE_MISSION = "Mission"

# Keys of the pre-mission ("feature") era: never sent, refused at any depth.
FORBIDDEN_KEYS = frozenset(
    {"feature_slug", "feature_number", "mission_key", "legacy_aggregate_id", "work_package_id"})

# Per-event results of POST /api/v1/events/batch/ (reference §2.3).
RESULT_SUCCESS = "success"
RESULT_DUPLICATE = "duplicate"
RESULT_REJECTED = "rejected"


class SyncLane:
    """The four sync lanes of a 4-column board (events ``SyncLaneV1``)."""

    PLANNED = "planned"
    DOING = "doing"
    FOR_REVIEW = "for_review"
    DONE = "done"
    ALL: tuple[str, ...] = (PLANNED, DOING, FOR_REVIEW, DONE)


# status-model §4, CANONICAL_TO_SYNC_V1. Every lane that can appear in a transition
# has an entry; `uninitialized` is a read-side sentinel and never collapses.
LANE_COLLAPSE: Mapping[Lane, str] = {
    Lane.GENESIS: SyncLane.PLANNED,
    Lane.PLANNED: SyncLane.PLANNED,
    Lane.CLAIMED: SyncLane.PLANNED,
    Lane.CANCELED: SyncLane.PLANNED,
    Lane.IN_PROGRESS: SyncLane.DOING,
    Lane.BLOCKED: SyncLane.DOING,
    Lane.FOR_REVIEW: SyncLane.FOR_REVIEW,
    Lane.IN_REVIEW: SyncLane.FOR_REVIEW,
    Lane.APPROVED: SyncLane.DONE,
    Lane.DONE: SyncLane.DONE,
}


# Exact canonical spellings: the hot path of envelope construction skips parse_lane.
_EXACT: Mapping[str, Lane] = {lane.value: lane for lane in LANE_COLLAPSE}


def _lane(value: object) -> Lane:
    exact = _EXACT.get(value) if isinstance(value, str) else None
    return exact if exact is not None else parse_lane(value)


def collapse_lane(lane: object) -> str:
    """The sync lane (planned/doing/for_review/done) of a canonical lane or its alias.

    Accepts any case, surrounding spaces and the ``doing`` alias. Raises
    :class:`~spec_kitty.core.status.lanes.UnknownLane` (``UNKNOWN_LANE``) for anything else,
    ``uninitialized`` included: an unknown lane is never given a default.
    """
    parsed = parse_lane(lane)
    try:
        return LANE_COLLAPSE[parsed]
    except KeyError:
        raise UnknownLane(lane) from None


@dataclass(frozen=True, slots=True)
class EnvelopeContext:
    """Where an event comes from: machine, project, team and git position."""

    build_id: str
    node_id: str
    project_uuid: str
    team_slug: str | None = None
    project_slug: str | None = None
    git_branch: str | None = None
    head_commit_sha: str | None = None
    repo_slug: str | None = None


class EnvelopeError(SpecKittyError):
    """A status or lifecycle event that cannot become an envelope (``ENVELOPE_INVALID``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, "ENVELOPE_INVALID", details={"field": field})


def build_envelope(event_type: str, *, event_id: str, aggregate_id: str, aggregate_type: str,
                   payload: Mapping[str, Any], timestamp: str, lamport_clock: int,
                   context: EnvelopeContext, causation_id: str | None = None,
                   correlation_id: str | None = None) -> dict[str, Any]:
    """One envelope as a plain dict (every field present; see the module docstring)."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "aggregate_id": aggregate_id,
        "aggregate_type": aggregate_type,
        "schema_version": SCHEMA_VERSION,
        "build_id": context.build_id,
        "node_id": context.node_id,
        "lamport_clock": lamport_clock,
        "causation_id": causation_id,
        "correlation_id": correlation_id or causation_id or event_id,
        "timestamp": timestamp,
        "team_slug": context.team_slug,
        "project_uuid": context.project_uuid,
        "project_slug": context.project_slug,
        "git_branch": context.git_branch,
        "head_commit_sha": context.head_commit_sha,
        "repo_slug": context.repo_slug,
        "payload": dict(payload),
    }


def _required_text(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EnvelopeError(f"status event has no {key}", key)
    return value


def wp_status_changed_payload(event: Mapping[str, Any]) -> dict[str, Any]:
    """The WPStatusChanged payload of one lane-transition row of status.events.jsonl.

    Keeps the full lanes (``from_lane`` null when absent), actor, force, reason,
    review_ref, evidence and execution_mode, adds ``sync_lane``/``from_sync_lane``
    (the 4-group collapse) and ``mission_id`` when known. Drops ``at`` (it becomes the
    envelope timestamp), ``policy_metadata`` and ``review_result``. Raises
    :class:`UnknownLane` for an unknown lane and :class:`EnvelopeError` for a row
    without ``mission_slug``/``wp_id``.
    """
    to_lane = _lane(event.get("to_lane"))
    if to_lane in (Lane.GENESIS, Lane.UNINITIALIZED):
        raise EnvelopeError(f"{to_lane.value} can never be a target lane", "to_lane")
    raw_from = event.get("from_lane")
    from_lane = None if raw_from is None else _lane(raw_from)
    if from_lane is Lane.UNINITIALIZED:
        raise UnknownLane(raw_from)
    return {
        "mission_slug": _required_text(event, "mission_slug"),
        "mission_id": event.get("mission_id") or None,
        "wp_id": _required_text(event, "wp_id"),
        "from_lane": None if from_lane is None else from_lane.value,
        "to_lane": to_lane.value,
        "sync_lane": LANE_COLLAPSE[to_lane],
        "from_sync_lane": None if from_lane is None else LANE_COLLAPSE[from_lane],
        "actor": event.get("actor"),
        "force": bool(event.get("force", False)),
        "reason": event.get("reason"),
        "review_ref": event.get("review_ref"),
        "evidence": event.get("evidence"),
        "execution_mode": event.get("execution_mode"),
    }


def envelope_for_status_event(event: Mapping[str, Any], context: EnvelopeContext,
                              lamport_clock: int, *,
                              causation_id: str | None = None) -> dict[str, Any]:
    """The WPStatusChanged envelope of one lane-transition row (same ``event_id``).

    The row's ``at`` becomes ``timestamp`` unchanged. Raises as
    :func:`wp_status_changed_payload` does, and :class:`EnvelopeError` for a row
    without ``event_id`` or ``at``.
    """
    payload = wp_status_changed_payload(event)
    return build_envelope(
        WP_STATUS_CHANGED, event_id=_required_text(event, "event_id"),
        aggregate_id=payload["wp_id"], aggregate_type=AGGREGATE_WORK_PACKAGE,
        payload=payload, timestamp=_required_text(event, "at"),
        lamport_clock=lamport_clock, context=context, causation_id=causation_id)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _parse_timestamp(value: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise EnvelopeError(f"{value!r} is not an ISO-8601 timestamp", "timestamp") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def derived_event_id(event_type: str, key: str, timestamp: str) -> str:
    """A deterministic ULID for a lifecycle event that has no row in the repo log.

    The time part is ``timestamp`` (ISO-8601, milliseconds); the 80 random bits are
    the first 10 bytes of SHA-256 of ``"<event_type>:<key>"``. The same mission step
    therefore always gets the same id, whether the emitter or ``sync backfill``
    builds it, and the hub stores it once.
    """
    millis = int(_parse_timestamp(timestamp).timestamp() * 1000)
    if not 0 <= millis < 1 << 48:
        raise EnvelopeError(f"{timestamp!r} is outside the ULID time range", "timestamp")
    digest = hashlib.sha256(f"{event_type}:{key}".encode()).digest()[:10]
    number = (millis << 80) | int.from_bytes(digest, "big")
    return "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))


def mission_envelope(event_type: str, *, mission_slug: str, mission_id: str | None,
                     payload: Mapping[str, Any], timestamp: str, lamport_clock: int,
                     context: EnvelopeContext, step_key: str = "") -> dict[str, Any]:
    """A mission lifecycle envelope (MissionCreated/Accepted/Merged) with a derived id.

    ``step_key`` distinguishes repeated steps of one type (e.g. the merge commit).
    """
    aggregate = mission_id or mission_slug
    event_id = derived_event_id(event_type, f"{aggregate}:{step_key}", timestamp)
    return build_envelope(
        event_type, event_id=event_id, aggregate_id=aggregate,
        aggregate_type=AGGREGATE_MISSION, payload=payload, timestamp=timestamp,
        lamport_clock=lamport_clock, context=context)


def wp_created_envelope(*, mission_slug: str, mission_id: str | None,
                        payload: Mapping[str, Any], timestamp: str, lamport_clock: int,
                        context: EnvelopeContext) -> dict[str, Any]:
    """A WPCreated envelope with an id derived from the mission and ``payload["wp_id"]``."""
    wp_id = str(payload.get("wp_id", ""))
    event_id = derived_event_id(WP_CREATED, f"{mission_id or mission_slug}:{wp_id}", timestamp)
    return build_envelope(
        WP_CREATED, event_id=event_id, aggregate_id=wp_id,
        aggregate_type=AGGREGATE_WORK_PACKAGE, payload=payload, timestamp=timestamp,
        lamport_clock=lamport_clock, context=context)
