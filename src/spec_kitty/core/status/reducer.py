"""Fold an event log into the board snapshot (the content of status.json).

Deterministic by construction: duplicates are dropped by ``event_id`` (first in
file order wins), transitions are replayed in ``(at, event_id)`` order compared as
plain strings, annotations are applied after every transition, and edges are *not*
re-validated, because real logs contain self-transitions and ``from_lane``
mismatches written under older rules.

:class:`LogFold` keeps only per-WP state (:mod:`spec_kitty.core.status.wp_fold`) and a few
totals, so a log can be folded while it streams past, in file order, with memory
proportional to its work packages. Logs our writer and the merge driver produce are
in replay order; a WP whose rows are not, or a log with a repeated ``event_id``, is
folded again from its rows in order (:func:`finish`), which gives the same result
as sorting the whole log first (:func:`reduce_log`).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from spec_kitty.core.status.events import (
    ANNOTATION,
    CANONICAL_SOURCES,
    CANONICAL_TARGETS,
    MARKER_KEYS,
    PROBLEM,
    RETROSPECTIVE,
    TRANSITION,
    LogProblem,
    ParsedLog,
    parse_line,
    parse_value,
)
from spec_kitty.core.status.lanes import DISPLAY_LANE_VALUES
from spec_kitty.core.status.wp_fold import (
    CLAIM_SLOTS,
    SCALAR_SLOTS,
    RetrospectiveFold,
    WorkPackageFold,
    actor_label,
)

__all__ = ["CLAIM_SLOTS", "SCALAR_SLOTS", "LogFold", "actor_label", "dedupe", "finish",
           "reduce_log", "replay_key", "snapshot_header"]

Row = tuple[str, dict[str, Any]]  # (kind, normalised row) as parse_line returns them
_BUCKETS = 64
_ANNOTATION_SALT = 0x5BD1E995  # keeps a transition and an annotation id apart
_FOLDED = frozenset({TRANSITION, ANNOTATION, RETROSPECTIVE})
_ABSENT = object()  # a missing from_lane must be filled in (None) by the full path


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


class LogFold:
    """Per-WP folds plus the log-wide totals the snapshot needs.

    ``first``/``last`` are the transitions that sort first and last; ``latest_at`` is
    the greatest ``at`` of any transition or annotation (new rows are stamped after
    it). Event-id hashes (8 bytes per row, never persisted) detect duplicates.
    """

    def __init__(self) -> None:
        self.wps: dict[str, WorkPackageFold] = {}
        self.event_count = 0
        self.first: list[Any] | None = None  # [at, event_id, mission_slug]
        self.last: list[str] | None = None  # [at, event_id]
        self.latest_at: str | None = None
        self.retro: RetrospectiveFold | None = None
        self.known_wps: set[str] = set()  # wp ids already seen valid (parsing shortcut)
        self._ids = [array("q") for _ in range(_BUCKETS)]

    def _wp(self, wp_id: str) -> WorkPackageFold:
        fold = self.wps.get(wp_id)
        if fold is None:
            fold = self.wps[wp_id] = WorkPackageFold()
        return fold

    def add(self, kind: str, row: dict[str, Any]) -> None:
        """Fold one normalised row in file order (kinds other than the three are ignored)."""
        if kind == TRANSITION:
            self._add_transition(row, row["at"], row["event_id"])
        elif kind == ANNOTATION:
            at = row["at"]
            if self.latest_at is None or at > self.latest_at:
                self.latest_at = at
            digest = hash(row["event_id"]) ^ _ANNOTATION_SALT
            self._ids[digest % _BUCKETS].append(digest)
            self._wp(row["wp_id"]).add_annotation(row)
        elif kind == RETROSPECTIVE:
            if self.retro is None:
                self.retro = RetrospectiveFold()
            self.retro.add(row)

    def _add_transition(self, row: dict[str, Any], at: str, event_id: str) -> None:
        self.event_count += 1
        last = self.last
        if last is None or at > last[0] or (at == last[0] and event_id > last[1]):
            self.last = [at, event_id]
            if self.latest_at is None or at > self.latest_at:
                self.latest_at = at
        first = self.first
        if first is None or at < first[0] or (at == first[0] and event_id < first[1]):
            slug = row.get("mission_slug")
            self.first = [at, event_id, slug if isinstance(slug, str) else None]
        digest = hash(event_id)
        self._ids[digest % _BUCKETS].append(digest)
        wp_id = row["wp_id"]
        fold = self.wps.get(wp_id)
        if fold is None:
            fold = self.wps[wp_id] = WorkPackageFold()
        fold.add_transition(row, at, event_id)

    def feed(self, lines: Iterable[bytes], lineno: int, problems: list[LogProblem]) -> int:
        """Parse and fold newline-terminated ``lines`` that follow line ``lineno``.

        Unreadable lines are appended to ``problems`` with their numbers; returns the
        number of the last line fed. A transition already in canonical form (what our
        writer and the merge driver write) is recognised inline, with the checks
        :func:`~spec_kitty.core.status.events.parse_value` would make; every other line is
        parsed by it. This loop is where a cold read spends its time.
        """
        loads, decode_error, known = orjson.loads, orjson.JSONDecodeError, self.known_wps
        add_transition = self._add_transition
        targets, sources, markers = CANONICAL_TARGETS, CANONICAL_SOURCES, MARKER_KEYS
        for raw in lines:
            lineno += 1
            try:
                row = loads(raw)
            except decode_error:
                kind, value = parse_line(raw, known)
            else:
                if type(row) is dict:
                    get = row.get
                    event_id, at, from_lane = get("event_id"), get("at"), get("from_lane", _ABSENT)
                    force = get("force", False)
                    if (type(event_id) is str and event_id != "" and type(at) is str and at != ""
                            and get("wp_id") in known and get("to_lane") in targets
                            and (from_lane is None or from_lane in sources)
                            and (force is False or force is True)
                            and row.keys().isdisjoint(markers)):
                        if "mission_slug" not in row and "feature_slug" in row:
                            row["mission_slug"] = row["feature_slug"]
                        add_transition(row, at, event_id)
                        continue
                kind, value = parse_value(row, known)
            if kind == PROBLEM:
                problems.append(dataclasses.replace(value, line=lineno))
            elif kind in _FOLDED:
                self.add(kind, value)
        return lineno

    def may_have_duplicates(self) -> bool:
        """True when two rows of one kind may share an event_id (exact: no false negatives)."""
        return any(len(ids) > 1 and len(set(ids)) != len(ids) for ids in self._ids)

    def last_transition(self, wp_id: str) -> dict[str, Any] | None:
        """``{reason, actor, at}`` of the transition that put ``wp_id`` in its lane.

        Not part of status.json (Spec Kitty's snapshot has no reason); boards show it
        for blocked work packages without reading the log again.
        """
        fold = self.wps.get(wp_id)
        return None if fold is None or fold.last is None else dict(fold.last)

    def disordered(self) -> set[str]:
        return {wp_id for wp_id, fold in self.wps.items() if fold.disordered}

    def refold(self, rows: Iterable[Row], wp_ids: set[str]) -> None:
        """Fold ``wp_ids`` again from their rows (in any order; no duplicates among them)."""
        transitions: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for kind, row in rows:
            if row.get("wp_id") in wp_ids:
                (transitions if kind == TRANSITION else annotations).append(row)
        for wp_id in wp_ids:
            self.wps[wp_id] = WorkPackageFold()
        for row in sorted(transitions, key=replay_key):
            self.wps[row["wp_id"]].add_transition(row, row["at"], row["event_id"])
        for row in sorted(annotations, key=replay_key):
            self.wps[row["wp_id"]].add_annotation(row)

    def snapshot(self, *, mission_number: Any = None, mission_type: Any = None,
                 fallback_slug: str = "") -> dict[str, Any]:
        """The snapshot written to status.json (all keys; callers serialise it)."""
        states = {wp_id: self.wps[wp_id].state() for wp_id in sorted(self.wps)}
        summary = dict.fromkeys(DISPLAY_LANE_VALUES, 0)
        for state in states.values():
            lane = state["lane"]
            if lane in summary:
                summary[lane] += 1
        first, last = self.first, self.last
        slug = "" if first is None else (first[2] if first[2] is not None else fallback_slug)
        snapshot = {
            **snapshot_header(slug, mission_number, mission_type),
            "materialized_at": last[0] if last else "",
            "event_count": self.event_count,
            "last_event_id": last[1] if last else None,
            "summary": summary,
            "work_packages": states,
        }
        if self.retro is not None:
            snapshot["retrospective"] = self.retro.summary()
        return snapshot

    def to_json(self) -> dict[str, Any]:
        return {"wps": {wp_id: fold.to_json() for wp_id, fold in self.wps.items()},
                "count": self.event_count, "first": self.first, "last": self.last,
                "latest_at": self.latest_at,
                "retro": None if self.retro is None else self.retro.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogFold:
        fold = cls()
        fold.wps = {wp_id: WorkPackageFold.from_json(wp) for wp_id, wp in data["wps"].items()}
        fold.event_count = data["count"]
        fold.first, fold.last, fold.latest_at = data["first"], data["last"], data["latest_at"]
        fold.retro = None if data["retro"] is None else RetrospectiveFold.from_json(data["retro"])
        return fold


def snapshot_header(slug: str, mission_number: Any, mission_type: Any) -> dict[str, str]:
    """``mission_slug``, ``mission_number`` and ``mission_type`` as Spec Kitty writes them.

    ``mission_number`` is a string: ``""`` when unknown, digits without leading zeros
    for an int or a numeric string; ``mission_type`` is ``""`` unless meta.json has one.
    """
    if mission_number is None or mission_number is False:
        number = ""
    elif isinstance(mission_number, int):
        number = str(mission_number)
    else:
        text = str(mission_number).strip()
        try:
            number = str(int(text)) if text else ""
        except ValueError:
            number = text
    return {"mission_slug": slug, "mission_number": number,
            "mission_type": mission_type if isinstance(mission_type, str) else ""}


def finish(fold: LogFold, again: Callable[[], Iterable[Row]]) -> LogFold:
    """Complete a file-order fold; ``again()`` (all rows, file order) is called at most once.

    For a log with a repeated event_id every row is deduplicated in file order and
    sorted; for WPs whose rows were out of replay order only those WPs are refolded.
    """
    if fold.may_have_duplicates():
        return _fold_sorted(list(again()))
    redo = fold.disordered()
    if redo:
        fold.refold(again(), redo)
    return fold


def _fold_sorted(rows: list[Row]) -> LogFold:
    by_kind: dict[str, list[dict[str, Any]]] = {TRANSITION: [], ANNOTATION: []}
    fold = LogFold()
    for kind, row in rows:
        if kind in by_kind:
            by_kind[kind].append(row)
        else:
            fold.add(kind, row)
    for kind in (TRANSITION, ANNOTATION):
        for row in sorted(dedupe(by_kind[kind]), key=replay_key):
            fold.add(kind, row)
    return fold


def reduce_log(
    parsed: ParsedLog,
    *,
    mission_slug: str = "",
    mission_number: Any = None,
    mission_type: str | None = None,
) -> dict[str, Any]:
    """The snapshot of an in-memory parsed log (the reference the streaming fold matches).

    ``mission_slug`` is used only when the first transition names no mission; the
    snapshot otherwise names the mission as its first transition does, and a log
    without transitions gives ``""`` (as Spec Kitty does).
    """
    rows: list[Row] = [(TRANSITION, row) for row in parsed.transitions]
    rows += [(ANNOTATION, row) for row in parsed.annotations]
    rows += [(RETROSPECTIVE, row) for row in parsed.retrospective]
    return _fold_sorted(rows).snapshot(mission_number=mission_number,
                                       mission_type=mission_type, fallback_slug=mission_slug)
