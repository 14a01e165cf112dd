"""Check one received sync envelope and extract what the hub stores and projects.

The contract (fields, JSON Schemas, lane rules) is ``spec_kitty.core.sync.schemas``,
shared with the CLI, so a queued event that ``spec-kitty sync diagnose`` calls valid is
one the hub accepts (one allowance: an empty ``build_id``, which the published CLI sends).
Event types outside that contract (the published Spec Kitty CLI
sends dossier and lifecycle events of its own) are checked against the envelope schema
only, stored, and not projected.

On top of the schemas the hub needs: an ``event_id`` of at most 64 characters, an
ISO-8601 ``timestamp`` (naive means UTC), a ``lamport_clock`` that fits in 63 bits,
and, for a WPStatusChanged, a ``to_lane`` that ``spec_kitty.core.status.lanes`` knows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from spec_kitty.core.status.lanes import Lane, UnknownLane, parse_lane
from spec_kitty.core.sync.schemas import FieldProblem, envelope_problems

WP_STATUS_CHANGED = "WPStatusChanged"
MAX_ID = 64
MAX_CLOCK = (1 << 63) - 1
MAX_DEPTH = 32  # JSON nesting of one envelope (recursive validators and encoders stop far deeper)


@dataclass(frozen=True)
class Envelope:
    """A valid envelope: the fields the hub indexes, plus the canonical JSON text."""

    event_id: str
    event_type: str
    aggregate_id: str
    team_slug: str | None
    project_uuid: str
    project_slug: str | None
    repo_slug: str | None
    occurred_at: datetime
    lamport_clock: int
    node_id: str
    payload: Mapping[str, Any]
    text: str
    content_hash: str

    @property
    def mission_slug(self) -> str | None:
        """``payload.mission_slug``, else ``payload.namespace.mission_slug`` (the
        dossier events of the published CLI)."""
        slug = self.payload.get("mission_slug")
        namespace = self.payload.get("namespace")
        if not isinstance(slug, str) and isinstance(namespace, Mapping):
            slug = namespace.get("mission_slug")
        return slug.strip()[:200] if isinstance(slug, str) and slug.strip() else None

    @property
    def replay_key(self) -> tuple[datetime, str]:
        """The order the CLI's reducer replays transitions in: occurrence, then id."""
        return (self.occurred_at, self.event_id)


@dataclass(frozen=True)
class Problem:
    """Why one event is refused: ``event_id`` (None when it has none), the event's
    position in the batch, a sentence, and ``fields`` (``{field, message, code}``)."""

    event_id: str | None
    index: int
    reason: str
    fields: list[dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "index": self.index, "error": self.reason,
                "reason": self.reason, "fields": self.fields}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def parse_timestamp(value: str) -> datetime:
    """An aware UTC datetime from ISO-8601 (``Z`` accepted; naive means UTC).

    Raises ValueError for anything else.
    """
    stamp = datetime.fromisoformat(value)
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _hub_problems(event: Mapping[str, Any]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    event_id = event.get("event_id")
    if isinstance(event_id, str) and len(event_id) > MAX_ID:
        problems.append({"field": "event_id", "code": "SCHEMA_MISMATCH",
                         "message": f"longer than {MAX_ID} characters"})
    for key in ("event_id", "event_type", "aggregate_id", "project_uuid", "project_slug",
                "repo_slug", "node_id", "team_slug"):
        value = event.get(key)
        if isinstance(value, str) and ("\x00" in value or len(value) > 200):
            problems.append({"field": key, "code": "SCHEMA_MISMATCH",
                             "message": "NUL characters or more than 200 characters"})
    if isinstance(event.get("project_uuid"), str) and len(event["project_uuid"]) > MAX_ID:
        problems.append({"field": "project_uuid", "code": "SCHEMA_MISMATCH",
                         "message": f"longer than {MAX_ID} characters"})
    clock = event.get("lamport_clock")
    if isinstance(clock, int) and not 0 <= clock <= MAX_CLOCK:
        problems.append({"field": "lamport_clock", "code": "SCHEMA_MISMATCH",
                         "message": "must be between 0 and 2**63-1"})
    payload = event.get("payload")
    if isinstance(payload, Mapping):
        for key, limit in (("mission_slug", 200), ("wp_id", MAX_ID)):
            value = payload.get(key)
            if isinstance(value, str) and ("\x00" in value or len(value) > limit):
                problems.append({"field": f"payload.{key}", "code": "SCHEMA_MISMATCH",
                                 "message": f"NUL characters or more than {limit} characters"})
    if event.get("event_type") == WP_STATUS_CHANGED and isinstance(payload, Mapping):
        try:
            lane = parse_lane(payload.get("to_lane"))
        except UnknownLane as error:
            problems.append({"field": "payload.to_lane", "code": "UNKNOWN_LANE",
                             "message": error.message})
        else:
            if lane in (Lane.GENESIS, Lane.UNINITIALIZED):
                problems.append({"field": "payload.to_lane", "code": "UNKNOWN_LANE",
                                 "message": f"{lane.value} is never a target lane"})
    return problems


def _tolerated(problem: FieldProblem, event: Any) -> bool:
    """The published Spec Kitty CLI (3.2.7) sends ``build_id: ""``; the hub does not use
    the build id, so an empty one is accepted from any client."""
    return problem.field == "build_id" and isinstance(event, Mapping) \
        and event.get("build_id") == ""


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply parsed JSON ``value`` nests objects and arrays, counted without
    recursion and stopping at ``limit + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if type(item) is dict else item if type(item) is list else ()
        if type(item) in (dict, list):
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
            stack.extend((child, depth + 1) for child in children
                         if type(child) in (dict, list))
    return deepest


def check(event: Any, index: int) -> Envelope | Problem:
    """The envelope at ``index`` of a batch, or why it is refused (never raises)."""
    raw_id = event.get("event_id") if isinstance(event, Mapping) else None
    event_id = raw_id if isinstance(raw_id, str) else None
    if nesting_depth(event) > MAX_DEPTH:
        reason = f"invalid envelope: nested more than {MAX_DEPTH} levels deep"
        return Problem(event_id, index, reason, [{"field": "(envelope)", "message": reason,
                                                  "code": "SCHEMA_MISMATCH"}])
    fields = [problem.to_json()
              for problem in envelope_problems(event, known_types_only=False)
              if not _tolerated(problem, event)]
    if isinstance(event, Mapping):
        fields += _hub_problems(event)
        stamp = None
        if not fields:
            try:
                stamp = parse_timestamp(event["timestamp"])
            except (ValueError, TypeError):
                fields.append({"field": "timestamp", "code": "SCHEMA_MISMATCH",
                               "message": "not an ISO-8601 time"})
    if fields or not isinstance(event, Mapping) or stamp is None:
        reason = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return Problem(event_id, index, f"invalid envelope: {reason}", fields)
    text = orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode()
    return Envelope(
        event_id=str(event_id), event_type=str(event["event_type"]),
        aggregate_id=str(event["aggregate_id"])[:200],
        team_slug=_text(event.get("team_slug")), project_uuid=str(event["project_uuid"]),
        project_slug=_text(event.get("project_slug")), repo_slug=_text(event.get("repo_slug")),
        occurred_at=stamp, lamport_clock=int(event["lamport_clock"]),
        node_id=str(event["node_id"])[:64], payload=event["payload"], text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest())
