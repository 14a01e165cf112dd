"""Validate sync envelopes against the published JSON Schemas and the contract's rules.

The schemas are package data (``spec_kitty/core/schemas/*.schema.json``, JSON Schema
draft 2020-12), loaded with :mod:`importlib.resources`, so the CLI (``sync diagnose``,
the drain's local pre-check) and the hub (ingest) apply exactly the same checks.

Beyond the schemas (status-model §6: rules the schemas cannot express):

- ``event_type`` known to this contract (:data:`EVENT_TYPES`) unless ``known_types_only``
  is false, in which case an unknown type is checked against the envelope schema only;
- no historical key (``feature_slug`` …) at any depth; no ``Feature*`` event names;
- a forced WPStatusChanged needs a non-blank ``reason``;
- ``sync_lane``/``from_sync_lane``, when present, equal the collapse of the full lanes;
- ``timestamp`` parses as ISO-8601.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from spec_kitty.core.status.lanes import UnknownLane
from spec_kitty.core.sync.envelope import EVENT_TYPES, FORBIDDEN_KEYS, collapse_lane

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

ENVELOPE_SCHEMA = "envelope"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with an envelope: ``field`` is a dotted path (``payload.to_lane``)."""

    field: str
    message: str
    code: str = "SCHEMA_MISMATCH"

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


def schema_names() -> tuple[str, ...]:
    """Names of the published schemas: ``envelope`` plus one per event type."""
    return (ENVELOPE_SCHEMA, *EVENT_TYPES)


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` (see :func:`schema_names`) as parsed JSON.

    Raises :class:`KeyError` for a name that is not published.
    """
    if name not in schema_names():
        raise KeyError(name)
    text = resources.files("spec_kitty.core").joinpath("schemas", f"{name}.schema.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data


@cache
def _validator(name: str) -> Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def _path(prefix: str, parts: Any) -> str:
    items = [prefix] if prefix else []
    items += [str(part) for part in parts]
    return ".".join(items) or "(envelope)"


@cache
def _fast_validator(name: str) -> Any:
    """A compiled (Rust) validator of the same schema when ``jsonschema-rs`` is installed
    (the hub installs it: ingest validates every event), else None."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(load_schema(name))


def _schema_problems(name: str, value: Any, prefix: str) -> list[FieldProblem]:
    # A valid value (the common case) is confirmed by the fast validator; anything it
    # refuses is explained by jsonschema, which stays the reference for messages.
    fast = _fast_validator(name)
    if fast is not None and fast.is_valid(value):
        return []
    errors = sorted(_validator(name).iter_errors(value), key=lambda e: list(e.absolute_path))
    return [FieldProblem(_path(prefix, err.absolute_path), err.message) for err in errors]


def _may_hold_forbidden(value: Any) -> bool:
    """False when no object inside ``value`` has a forbidden key: one walk without
    building paths over plain dicts and lists (what parsed JSON is), which is what the
    hub pays per received event. Any other container is left to :func:`_forbidden`."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            if not FORBIDDEN_KEYS.isdisjoint(item):
                return True
            stack.extend(v for v in item.values() if type(v) in (dict, list))
        elif kind is list:
            stack.extend(v for v in item if type(v) in (dict, list))
        elif isinstance(item, Mapping | list):
            return True
    return False


def _forbidden(value: Any, path: str) -> Iterator[FieldProblem]:
    if path == "" and not _may_hold_forbidden(value):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in FORBIDDEN_KEYS:
                yield FieldProblem(where, f"historical key {key!r} is not allowed",
                                   "FORBIDDEN_KEY")
            yield from _forbidden(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _forbidden(item, f"{path}.{index}")


def _lane_rules(payload: Mapping[str, Any]) -> list[FieldProblem]:
    problems = []
    if payload.get("force") is True:
        reason = payload.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(FieldProblem("payload.reason", "a forced move needs a reason"))
    for lane_key, sync_key in (("to_lane", "sync_lane"), ("from_lane", "from_sync_lane")):
        if sync_key not in payload or payload.get(lane_key) is None:
            continue
        try:
            expected = collapse_lane(payload[lane_key])
        except UnknownLane:
            continue  # already reported by the schema's lane enum
        if payload[sync_key] != expected:
            problems.append(FieldProblem(
                f"payload.{sync_key}",
                f"{payload[sync_key]!r} does not match {lane_key} "
                f"{payload[lane_key]!r} (expected {expected!r})"))
    return problems


def envelope_problems(envelope: Any, *, known_types_only: bool = True) -> list[FieldProblem]:
    """Everything wrong with one envelope; an empty list means valid.

    Never raises for bad input: a non-object gives one problem for ``(envelope)``.
    """
    if not isinstance(envelope, Mapping):
        return [FieldProblem("(envelope)", "an event must be a JSON object")]
    problems = _schema_problems(ENVELOPE_SCHEMA, envelope, "")
    problems += list(_forbidden(envelope, ""))
    event_type = envelope.get("event_type")
    if isinstance(event_type, str) and event_type.startswith("Feature"):
        problems.append(FieldProblem("event_type", f"{event_type!r} is a retired event name",
                                     "FORBIDDEN_KEY"))
    stamp = envelope.get("timestamp")
    if isinstance(stamp, str):
        try:
            datetime.fromisoformat(stamp)
        except ValueError:
            problems.append(FieldProblem("timestamp", f"{stamp!r} is not an ISO-8601 time"))
    payload = envelope.get("payload")
    if event_type in EVENT_TYPES and isinstance(payload, Mapping):
        problems += _schema_problems(str(event_type), payload, "payload")
        if event_type == "WPStatusChanged":
            problems += _lane_rules(payload)
    elif known_types_only and isinstance(event_type, str) and event_type:
        problems.append(FieldProblem("event_type", f"unknown event type {event_type!r}"))
    return problems


def is_valid_envelope(envelope: Any, *, known_types_only: bool = True) -> bool:
    """True when :func:`envelope_problems` finds nothing."""
    return not envelope_problems(envelope, known_types_only=known_types_only)
