"""The one board model: a reduced snapshot plus work-package metadata → lanes and cards.

Pure (no I/O). The CLI (``spec-kitty status``, ``agent tasks status``), the local
dashboard and the hub all build their boards here, so they show the same columns, the
same cards, the same counts and the same event count.

Shapes (all JSON-ready):

- :func:`build_board` → ``{"columns": [Column], "work_packages": [Card], "by_lane": {lane: n},
  "progress": Progress, "event_count": int, "last_event_id": str|None,
  "last_event_at": str|None, "problems": [str]}``
- Column: ``{"key", "label", "lanes": [lane], "count": int, "wp_ids": [wp_id]}``. The
  column set is fixed (:data:`COLUMNS`); a "Not finalized" column is added only when a
  work package has no lane yet. Renderers may fold empty columns, never reorder them.
- Card: ``{"id", "title", "lane", "column", "actor", "agent", "dependencies": [wp_id],
  "dependency_lanes": {wp_id: lane|None}, "blocked_by": [wp_id], "subtasks_done",
  "subtasks_total", "last_transition_at", "force_count", "file", "problem",
  "blocked_reason"}`` (``blocked_reason``: why a card in the blocked lane is blocked, from
  the ``blocked`` mapping the caller read from the log; None otherwise)
- Progress: :func:`spec_kitty.core.status.progress.progress` plus ``weighted_note`` explaining
  the weighted figure.

``event_count`` is the number of lane transitions in the log (the figure status.json
stores); annotations (notes, subtask marks) are not counted as events anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from spec_kitty.core.status.lanes import DISPLAY_LANE_VALUES, Lane
from spec_kitty.core.status.progress import WEIGHTED_NOTE, progress

# (key, label, lanes): the main path with each "waiting / working" pair in one column
# (a card names its exact lane), then blocked and canceled.
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("planned", "Planned", (Lane.PLANNED.value,)),
    ("in_progress", "In progress", (Lane.CLAIMED.value, Lane.IN_PROGRESS.value)),
    ("review", "Review", (Lane.FOR_REVIEW.value, Lane.IN_REVIEW.value)),
    ("approved", "Approved", (Lane.APPROVED.value,)),
    ("done", "Done", (Lane.DONE.value,)),
    ("blocked", "Blocked", (Lane.BLOCKED.value,)),
    ("canceled", "Canceled", (Lane.CANCELED.value,)),
)
UNFINALIZED_COLUMN = ("uninitialized", "Not finalized", (Lane.UNINITIALIZED.value,))
COLUMN_OF_LANE: Mapping[str, str] = {lane: key for key, _, lanes in COLUMNS for lane in lanes}
LANE_LABELS: Mapping[str, str] = {
    "planned": "planned", "claimed": "claimed", "in_progress": "in progress",
    "for_review": "for review", "in_review": "in review", "approved": "approved",
    "done": "done", "blocked": "blocked", "canceled": "canceled",
    "uninitialized": "not finalized",
}
# Dependencies in these lanes no longer hold a work package back.
SATISFIED_LANES = frozenset({Lane.APPROVED.value, Lane.DONE.value})


class WorkPackageInfo(Protocol):
    """What the board needs from a WP file (``repo.work_packages.WorkPackage`` fits)."""

    @property
    def wp_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def dependencies(self) -> Sequence[str]: ...
    @property
    def subtasks(self) -> Sequence[str]: ...
    @property
    def agent(self) -> str | None: ...
    @property
    def file(self) -> str: ...
    @property
    def problem(self) -> str | None: ...
    @property
    def warnings(self) -> Sequence[str]: ...


def _wp_number(wp_id: str) -> tuple[int, str]:
    digits = wp_id[2:]
    return (int(digits), wp_id) if digits.isdigit() else (1 << 30, wp_id)


def _actor(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("tool") or value.get("role")
    return value


def _card(wp_id: str, wp: WorkPackageInfo | None, state: Mapping[str, Any],
          lanes: Mapping[str, str], blocked: Mapping[str, Any]) -> dict[str, Any]:
    marks = state.get("subtasks") or {}
    roster = list(wp.subtasks) if wp is not None and wp.subtasks else list(marks)
    dependencies = list(wp.dependencies) if wp is not None else []
    lane = state.get("lane", Lane.UNINITIALIZED.value)
    return {
        "id": wp_id,
        "title": wp.title if wp is not None else wp_id,
        "lane": lane,
        "column": COLUMN_OF_LANE.get(lane, UNFINALIZED_COLUMN[0]),
        "actor": _actor(state.get("actor")),
        "agent": state.get("agent") or (wp.agent if wp is not None else None),
        "dependencies": dependencies,
        "dependency_lanes": {dep: lanes.get(dep) for dep in dependencies},
        "blocked_by": [dep for dep in dependencies if lanes.get(dep) not in SATISFIED_LANES],
        "subtasks_done": sum(1 for task in roster if marks.get(task) == "done"),
        "subtasks_total": len(roster),
        "last_transition_at": state.get("last_transition_at"),
        "force_count": state.get("force_count", 0),
        "file": wp.file if wp is not None else None,
        "problem": wp.problem if wp is not None else None,
        "blocked_reason": (blocked.get(wp_id) or {}).get("reason")
        if lane == Lane.BLOCKED.value else None,
    }


def columns(cards: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The fixed column set with each column's cards (ids, in card order)."""
    layout = list(COLUMNS)
    if any(card["lane"] not in DISPLAY_LANE_VALUES for card in cards):
        layout.append(UNFINALIZED_COLUMN)
    result = []
    for key, label, lanes in layout:
        ids = [card["id"] for card in cards if card["lane"] in lanes]
        result.append({"key": key, "label": label, "lanes": list(lanes), "count": len(ids),
                       "wp_ids": ids})
    return result


def column_counts(by_lane: Mapping[str, int]) -> dict[str, int]:
    """Lane counts folded into the board's columns (for one-row-per-mission summaries)."""
    return {key: sum(by_lane.get(lane, 0) for lane in lanes) for key, _, lanes in COLUMNS}


def board_progress(by_lane: Mapping[str, int]) -> dict[str, Any]:
    return {**progress(by_lane), "weighted_note": WEIGHTED_NOTE}


def build_board(snapshot: Mapping[str, Any], work_packages: Iterable[WorkPackageInfo],
                blocked: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The board of one mission from its reduced snapshot (status.json's shape) and its
    WP files. Work packages only in the log, or only on disk, are shown too.

    ``blocked``: ``{wp_id: {"reason", "actor", "at"}}`` of the moves that blocked work
    packages (the snapshot does not keep reasons; callers read them from the log).
    """
    wps = {wp.wp_id: wp for wp in work_packages}
    states: Mapping[str, Mapping[str, Any]] = snapshot["work_packages"]
    lanes = {wp_id: state.get("lane", Lane.UNINITIALIZED.value)
             for wp_id, state in states.items()}
    cards = [_card(wp_id, wps.get(wp_id), states.get(wp_id, {}), lanes, blocked or {})
             for wp_id in sorted(set(states) | set(wps), key=_wp_number)]
    by_lane = dict(snapshot["summary"])
    # A problem message usually names its file already; prefix it only when it does not.
    problems = [wp.problem if wp.file in wp.problem else f"{wp.file}: {wp.problem}"
                for wp in wps.values() if wp.problem]
    problems += [f"{wp.file}: {note}" for wp in wps.values() for note in wp.warnings]
    return {
        "columns": columns(cards),
        "work_packages": cards,
        "by_lane": by_lane,
        "progress": board_progress(by_lane),
        "event_count": snapshot["event_count"],
        "last_event_id": snapshot.get("last_event_id"),
        "last_event_at": snapshot.get("materialized_at") or None,
        "problems": problems,
    }


def summary_row(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """One mission's line in an all-missions summary: counts per lane and per column,
    progress and the event count (same figures as :func:`build_board`)."""
    by_lane = dict(snapshot["summary"])
    return {"by_lane": by_lane, "by_column": column_counts(by_lane),
            "event_count": snapshot["event_count"],
            "last_event_at": snapshot.get("materialized_at") or None,
            "last_event_id": snapshot.get("last_event_id"),
            **progress(by_lane)}
