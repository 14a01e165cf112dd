"""The status event log format: classify, validate and normalise each line.

One ``status.events.jsonl`` holds five kinds of rows. Lane transitions and
annotations feed the reducer; lifecycle envelopes (``event_type``), retrospective
rows (``event_name`` ``retrospective.*`` or ``type`` Retrospective*) are kept on
disk but skipped here. Historical shapes are accepted: ``feature_slug`` for
``mission_slug``, ``work_package_id`` for ``wp_id``, no ``mission_id``, dict
actors, any ``execution_mode`` string, and the ``doing`` lane alias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.ids import canonical_wp_id
from spec_kitty.core.lanes import LANE_ALIASES, Lane

WP_ID_RE = re.compile(r"^WP\d+$")
RETROSPECTIVE_TYPES = frozenset(
    {"RetrospectiveCaptured", "RetrospectiveCaptureFailed", "RetrospectiveSkipped"}
)
# Lane spellings accepted on read -> canonical lane value (plain str: cheap to compare).
_LANES: dict[str, str] = {lane.value: lane.value for lane in Lane}
_LANES.update({alias: lane.value for alias, lane in LANE_ALIASES.items()})
_NOT_A_TARGET = frozenset({Lane.GENESIS.value, Lane.UNINITIALIZED.value})


@dataclass(frozen=True, slots=True)
class LogProblem:
    line: int
    message: str


@dataclass(slots=True)
class ParsedLog:
    """Normalised rows in file order; ``line`` of each row is kept for messages."""

    transitions: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    problems: list[LogProblem] = field(default_factory=list)


class EventLogError(SpecKittyError):
    """A log that cannot be read. The message names the file and the first bad line."""

    def __init__(self, source: str, problems: list[LogProblem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(
            f"{source}:{first.line}: {first.message}{more}",
            "EVENT_LOG_INVALID",
            details={
                "file": source,
                "line": first.line,
                "problems": [{"line": p.line, "message": p.message} for p in problems[:50]],
            },
            hint="Fix or remove the line (the log is plain JSON lines), then run "
            "`spec-kitty agent status validate`.",
        )


def _lane(value: Any) -> str | None:
    lane = _LANES.get(value) if isinstance(value, str) else None
    if lane is None and isinstance(value, str):
        lane = _LANES.get(value.strip().lower())
    return lane


def _valid_wp_id(value: Any, known: set[str]) -> bool:
    if value in known:
        return True
    if isinstance(value, str) and WP_ID_RE.match(value):
        known.add(value)
        return True
    return False


def _identity_problem(row: dict[str, Any], what: str, known_wps: set[str]) -> str | None:
    """Check event_id and wp_id (either spelling); on success store the canonical wp_id."""
    event_id = row.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return f"{what} without an event_id"
    wp_id = row.get("wp_id") or row.get("work_package_id")
    if not _valid_wp_id(wp_id, known_wps):
        return f"{what} {event_id} has no valid wp_id (got {wp_id!r})"
    # WP1 / WP001 are WP01 everywhere (core.ids); the common WPnn form costs nothing.
    row["wp_id"] = wp_id if len(str(wp_id)) == 4 else canonical_wp_id(wp_id)
    return None


def _normalise_transition(row: dict[str, Any], known_wps: set[str]) -> str | None:
    """Fill the canonical keys in place; return a problem message or None."""
    problem = _identity_problem(row, "lane transition", known_wps)
    if problem is not None:
        return problem
    event_id = row["event_id"]
    at = row.get("at")
    if not isinstance(at, str) or not at:
        return f"lane transition {event_id} has no 'at' timestamp"
    to_lane = _lane(row.get("to_lane"))
    if to_lane is None or to_lane in _NOT_A_TARGET:
        return f"lane transition {event_id} has an invalid to_lane {row.get('to_lane')!r}"
    from_raw = row.get("from_lane")
    from_lane = None if from_raw is None else _lane(from_raw)
    if from_raw is not None and (from_lane is None or from_lane == Lane.UNINITIALIZED.value):
        return f"lane transition {event_id} has an invalid from_lane {from_raw!r}"
    force = row.get("force", False)
    if force is not False and force is not True:
        return f"lane transition {event_id} has a non-boolean force {force!r}"
    row["to_lane"] = to_lane
    row["from_lane"] = from_lane
    if "mission_slug" not in row and "feature_slug" in row:
        row["mission_slug"] = row["feature_slug"]
    return None


def _normalise_annotation(row: dict[str, Any], known_wps: set[str]) -> str | None:
    problem = _identity_problem(row, "annotation", known_wps)
    if problem is not None:
        return problem
    event_id = row["event_id"]
    if not isinstance(row.get("at"), str):
        return f"annotation {event_id} has no 'at' timestamp"
    if not isinstance(row.get("delta"), dict):
        return f"annotation {event_id} has no 'delta' object"
    return None


_MARKER_KEYS = frozenset({"kind", "event_name", "type", "event_type"})


def classify(row: dict[str, Any]) -> str:
    """``transition``, ``annotation``, ``skip`` or ``unknown-kind``."""
    if _MARKER_KEYS.isdisjoint(row):
        return "transition"
    kind = row.get("kind")
    if kind is not None:
        return "annotation" if kind == "annotation" else "unknown-kind"
    name = row.get("event_name")
    if isinstance(name, str) and name.startswith("retrospective."):
        return "skip"
    if row.get("type") in RETROSPECTIVE_TYPES or "event_type" in row:
        return "skip"
    return "transition"


def parse_log(data: bytes) -> ParsedLog:
    """Parse a whole log; problems are collected, never raised (see :func:`parse_log_strict`)."""
    parsed = ParsedLog()
    lines = data.split(b"\n")
    last_index = len(lines) - 1
    loads = orjson.loads
    known_wps: set[str] = set()
    for index, raw in enumerate(lines):
        if not raw:
            continue
        lineno = index + 1
        try:
            row = loads(raw)
        except orjson.JSONDecodeError:
            if raw.isspace():
                continue
            truncated = index == last_index and not data.endswith(b"\n")
            message = "truncated line (incomplete JSON)" if truncated else "invalid JSON"
            parsed.problems.append(LogProblem(lineno, message))
            continue
        if not isinstance(row, dict):
            parsed.problems.append(
                LogProblem(lineno, f"expected a JSON object, got {type(row).__name__}")
            )
            continue
        kind = classify(row)
        if kind == "transition":
            problem = _normalise_transition(row, known_wps)
            target = parsed.transitions
        elif kind == "annotation":
            problem = _normalise_annotation(row, known_wps)
            target = parsed.annotations
        elif kind == "skip":
            parsed.skipped += 1
            continue
        else:
            problem = f"unknown record kind {row.get('kind')!r}"
            target = None
        if problem is not None or target is None:
            parsed.problems.append(LogProblem(lineno, problem or "unreadable row"))
            continue
        row["_line"] = lineno
        target.append(row)
    return parsed


def parse_log_strict(data: bytes, source: str) -> ParsedLog:
    parsed = parse_log(data)
    if parsed.problems:
        raise EventLogError(source, parsed.problems)
    return parsed


def serialize_row(row: dict[str, Any]) -> str:
    """One log line, byte-identical to ``json.dumps(row, sort_keys=True)`` plus newline."""
    import json

    return json.dumps(row, sort_keys=True) + "\n"
