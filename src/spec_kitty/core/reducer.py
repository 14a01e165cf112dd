"""Fold a parsed event log into the board snapshot (the content of status.json).

Deterministic by construction: duplicates are dropped by ``event_id`` (first in
file order wins), transitions are replayed in ``(at, event_id)`` order compared as
plain strings, and edges are *not* re-validated, because real logs contain
self-transitions and ``from_lane`` mismatches written under older rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from spec_kitty.core.events import ParsedLog
from spec_kitty.core.lanes import DISPLAY_LANE_VALUES, Lane

# Annotation fields that simply replace the slot (blank strings are ignored).
SCALAR_SLOTS = (
    "shell_pid",
    "shell_pid_created_at",
    "agent",
    "assignee",
    "role",
    "agent_profile",
    "agent_profile_version",
    "model",
    "provider",
)
CLAIM_SLOTS = ("shell_pid", "shell_pid_created_at", "agent")


def dedupe(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    unique = []
    for row in rows:
        event_id = row["event_id"]
        if event_id not in seen:
            seen.add(event_id)
            unique.append(row)
    return unique


def replay_key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (row["at"], row["event_id"])


def actor_label(actor: Any) -> Any:
    """Dict actors are shown by their tool, else their role; strings stay as they are."""
    if isinstance(actor, dict):
        return actor.get("tool") or actor.get("role")
    return actor


_IN_PROGRESS, _IN_REVIEW, _FOR_REVIEW = Lane.IN_PROGRESS.value, Lane.IN_REVIEW.value, \
    Lane.FOR_REVIEW.value
_PLANNED, _CLAIMED = Lane.PLANNED.value, Lane.CLAIMED.value


def _is_rollback(row: Mapping[str, Any]) -> bool:
    if row["to_lane"] != _IN_PROGRESS:
        return False
    source = row["from_lane"]
    return source == _IN_REVIEW or (source == _FOR_REVIEW and row.get("review_ref") is not None)


def _fold_transitions(rows: list[dict[str, Any]], states: dict[str, dict[str, Any]]) -> None:
    set_by_rollback: dict[str, bool] = {}
    for row in rows:
        wp_id = row["wp_id"]
        state = states.get(wp_id)
        rollback = _is_rollback(row)
        # A review rollback beats a forward move stamped with the very same instant.
        if (
            state is not None
            and not rollback
            and set_by_rollback.get(wp_id)
            and state["last_transition_at"] == row["at"]
        ):
            continue
        if state is None:
            state = {"force_count": 0}
            states[wp_id] = state
        to_lane = row["to_lane"]
        state["lane"] = to_lane
        actor = row.get("actor")
        state["actor"] = actor_label(actor) if isinstance(actor, dict) else actor
        state["last_transition_at"] = row["at"]
        state["last_event_id"] = row["event_id"]
        if row.get("force"):
            state["force_count"] += 1
        from_lane = row["from_lane"]
        if from_lane == _PLANNED and to_lane == _CLAIMED:
            meta = row.get("policy_metadata")
            if isinstance(meta, dict):
                for slot in CLAIM_SLOTS:
                    if meta.get(slot) is not None:
                        state[slot] = meta[slot]
        review_result = row.get("review_result")
        if review_result is not None or from_lane == _IN_REVIEW:
            state["review_result"] = review_result
        set_by_rollback[wp_id] = rollback


def _apply_delta(state: dict[str, Any], delta: Mapping[str, Any]) -> None:
    for slot in SCALAR_SLOTS:
        value = delta.get(slot)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        state[slot] = value
    subtasks = delta.get("subtasks")
    if isinstance(subtasks, Mapping):
        merged = dict(state.get("subtasks") or {})
        merged.update({str(k): str(v) for k, v in subtasks.items()})
        state["subtasks"] = merged
    note = delta.get("note")
    if isinstance(note, str) and note.strip():
        state["notes"] = [*state.get("notes", []), note]
    replace = delta.get("tracker_refs_replace")
    refs = delta.get("tracker_refs")
    if isinstance(replace, list):
        state["tracker_refs"] = list(dict.fromkeys(replace))
    elif isinstance(refs, list):
        state["tracker_refs"] = list(dict.fromkeys([*state.get("tracker_refs", []), *refs]))
    review = delta.get("review")
    if isinstance(review, Mapping):
        if any(v not in (None, "") for v in review.values()):
            state["review"] = dict(review)
        else:
            state.pop("review", None)
    if delta.get("release_runtime_claim"):
        for slot in CLAIM_SLOTS:
            state.pop(slot, None)


def _fold_annotations(rows: list[dict[str, Any]], states: dict[str, dict[str, Any]]) -> None:
    for row in rows:
        state = states.get(row["wp_id"])
        if state is None:
            state = {
                "lane": Lane.UNINITIALIZED.value,
                "actor": actor_label(row.get("actor")),
                "last_transition_at": None,
                "last_event_id": None,
                "force_count": 0,
            }
            states[row["wp_id"]] = state
        _apply_delta(state, row["delta"])


def reduce_log(
    parsed: ParsedLog,
    *,
    mission_slug: str,
    mission_number: Any = None,
    mission_type: str | None = None,
) -> dict[str, Any]:
    """The snapshot written to status.json (all keys; callers serialise it)."""
    transitions = sorted(dedupe(parsed.transitions), key=replay_key)
    annotations = sorted(dedupe(parsed.annotations), key=replay_key)
    states: dict[str, dict[str, Any]] = {}
    _fold_transitions(transitions, states)
    _fold_annotations(annotations, states)
    summary = dict.fromkeys(DISPLAY_LANE_VALUES, 0)
    for state in states.values():
        lane = state["lane"]
        if lane in summary:
            summary[lane] += 1
    last = transitions[-1] if transitions else None
    return {
        "mission_slug": mission_slug,
        "mission_number": "" if mission_number is None else str(mission_number),
        "mission_type": mission_type,
        "materialized_at": last["at"] if last else "",
        "event_count": len(transitions),
        "last_event_id": last["event_id"] if last else None,
        "summary": summary,
        "work_packages": {wp: states[wp] for wp in sorted(states)},
    }
