"""Missions on disk → the JSON the dashboard serves. Strictly read-only.

The CLI's readers (``load_snapshot``, ``load_work_packages``) are called with
``project=None``, which turns off their on-disk caches: serving a page must never
write a file, ``status.json`` above all. Speed comes from :class:`StampedCache`
instead, which keeps results in memory while the files behind them are unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.status.board import build_board, summary_row
from spec_kitty.core.status.lanes import Lane
from spec_kitty.core.status.reducer import actor_label
from spec_kitty.dashboard.projects import ServedProject
from spec_kitty.dashboard.stamps import Stamp, StampedCache, file_stamp, files_stamp
from spec_kitty.repo.missions import META_FILE, Mission, list_missions, select_mission
from spec_kitty.repo.status import event_log
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages, wp_files

DOCUMENTS = {
    "spec": "spec.md",
    "plan": "plan.md",
    "tasks": "tasks.md",
    "research": "research.md",
    "data-model": "data-model.md",
    "quickstart": "quickstart.md",
}
DEFAULT_TIMELINE_LIMIT = 200


def identity(mission: Mission) -> dict[str, Any]:
    """Who a mission is; meta.json problems are reported instead of raised."""
    row: dict[str, Any] = {"slug": mission.slug}
    try:
        row.update(mission_id=mission.mission_id, mid8=mission.mid8,
                   friendly_name=mission.friendly_name, mission_type=mission.mission_type,
                   target_branch=mission.meta.get("target_branch"),
                   created_at=mission.meta.get("created_at"))
    except SpecKittyError as exc:
        row.update(friendly_name=mission.slug, error=exc.message, error_code=exc.code)
    return row


def documents_present(mission: Mission) -> dict[str, bool]:
    return {name: (mission.path / file).is_file() for name, file in DOCUMENTS.items()}


def _timeline_entry(row: dict[str, Any], kind: str) -> dict[str, Any]:
    entry = {"kind": kind, "event_id": row["event_id"], "at": row["at"], "wp_id": row["wp_id"],
             "actor": actor_label(row.get("actor"))}
    if kind == "transition":
        entry.update(from_lane=row.get("from_lane"), to_lane=row["to_lane"],
                     force=bool(row.get("force")), reason=row.get("reason"),
                     review_ref=row.get("review_ref"))
        entry.update(_review_fields(row.get("review_result")))
    else:
        entry["delta"] = row.get("delta")
    return entry


def _review_fields(result: Any) -> dict[str, Any]:
    """A review verdict on the timeline; the feedback text is filled in by the reader."""
    if not isinstance(result, dict):
        return {}
    return {"review": {key: result.get(key) for key in
                       ("reviewer", "verdict", "reference", "feedback_path")},
            "feedback": None}


class ProjectReader:
    """Read side of one served project, with results cached per mission."""

    def __init__(self, project: ServedProject) -> None:
        self.project = project
        self._rows = StampedCache()
        self._snapshots = StampedCache()
        self._work_packages = StampedCache()
        self._timelines = StampedCache()

    def select(self, handle: str) -> Mission:
        return select_mission(self.project.paths, handle)

    # -- snapshots and work packages (cached on the files they come from) --------------

    def _log_stamp(self, mission: Mission) -> Stamp:
        return (file_stamp(mission.events_file), file_stamp(mission.path / META_FILE))

    def snapshot(self, mission: Mission) -> dict[str, Any]:
        return self._snapshots.get(mission.slug, self._log_stamp(mission),
                                   lambda: event_log.load_snapshot(None, mission))

    def work_packages(self, mission: Mission) -> list[WorkPackage]:
        files = wp_files(mission)
        return self._work_packages.get(mission.slug, files_stamp(files),
                                       lambda: load_work_packages(None, mission))

    # -- views -------------------------------------------------------------------------

    def _summary_row(self, mission: Mission) -> dict[str, Any]:
        row = identity(mission)
        row["documents"] = documents_present(mission)
        try:
            snapshot = self.snapshot(mission)
        except SpecKittyError as exc:
            row.update(error=exc.message, error_code=exc.code)
            return row
        row.update(summary_row(snapshot))
        return row

    def missions(self) -> dict[str, Any]:
        """Every mission with lane counts, progress and the documents it has."""
        missions = list_missions(self.project.paths)
        rows = []
        for mission in missions:
            # The directory's mtime moves when a document is added or removed.
            stamp = (file_stamp(mission.path), *self._log_stamp(mission))
            rows.append(self._rows.get(mission.slug, stamp,
                                       functools.partial(self._summary_row, mission)))
        slugs = {m.slug for m in missions}
        for cache in (self._rows, self._snapshots, self._work_packages, self._timelines):
            cache.keep_only(slugs)
        return {"project": self.project.key, "missions": rows, "count": len(rows)}

    def board(self, handle: str) -> dict[str, Any]:
        """The kanban of one mission: :func:`spec_kitty.core.status.board.build_board` (the same
        model the CLI renders) plus the project and the mission's identity."""
        from spec_kitty.services.status.board import board_warnings

        mission = self.select(handle)
        snapshot = self.snapshot(mission)
        wps = self.work_packages(mission)
        board = build_board(snapshot, wps, self._blocked_reasons(mission, snapshot))
        return {"project": self.project.key, "mission": identity(mission), **board,
                "warnings": board_warnings(self.project.paths, mission, wps)}

    def _blocked_reasons(self, mission: Mission, snapshot: dict[str, Any]
                         ) -> dict[str, dict[str, Any]]:
        """``{wp_id: {reason, actor, at}}`` of the moves that blocked work packages, from
        the cached timeline (the board model puts the reason on the card)."""
        blocked = {wp: state.get("last_event_id") for wp, state in
                   snapshot["work_packages"].items() if state.get("lane") == Lane.BLOCKED.value}
        if not blocked:
            return {}
        by_id = {e["event_id"]: e for e in self._timeline_of(mission)["entries"]}
        reasons = {}
        for wp, event_id in blocked.items():
            event = by_id.get(event_id or "") or {}
            reasons[wp] = {"reason": event.get("reason"), "actor": event.get("actor"),
                           "at": event.get("at")}
        return reasons

    def _timeline_of(self, mission: Mission) -> dict[str, Any]:
        return self._timelines.get(mission.slug, (file_stamp(mission.events_file),),
                                   lambda: self._timeline(mission))

    def _timeline(self, mission: Mission) -> dict[str, Any]:
        # Lenient on purpose: a timeline with a bad line still shows every good one.
        parsed = event_log.read_log_lenient(mission)
        seen: set[str] = set()
        entries = []
        for kind, rows in (("transition", parsed.transitions), ("annotation", parsed.annotations)):
            for row in rows:
                if row["event_id"] not in seen:
                    seen.add(row["event_id"])
                    entries.append(_timeline_entry(row, kind))
        entries.sort(key=lambda e: (e["at"], e["event_id"]), reverse=True)
        self._attach_feedback(entries)
        problems = [{"line": p.line, "message": p.message} for p in parsed.problems]
        transitions = sum(1 for e in entries if e["kind"] == "transition")
        return {"entries": entries, "problems": problems, "event_count": transitions,
                "annotation_count": len(entries) - transitions}

    def _attach_feedback(self, entries: list[dict[str, Any]]) -> None:
        """Review feedback text (stored in the mission's reviews/) beside its rejection."""
        from spec_kitty.services.status.reviews import read_feedback

        for entry in entries:
            path = (entry.get("review") or {}).get("feedback_path")
            if path:
                stored = read_feedback(self.project.paths, str(path))
                entry["feedback"] = stored["text"] if stored else None

    def timeline(self, handle: str, limit: int = DEFAULT_TIMELINE_LIMIT) -> dict[str, Any]:
        """Events of one mission, newest first."""
        mission = self.select(handle)
        # event_count counts lane transitions, as the board does; notes are counted apart.
        full = self._timeline_of(mission)
        return {"project": self.project.key, "mission": identity(mission),
                "total": len(full["entries"]), "events": full["entries"][:limit],
                "event_count": full["event_count"],
                "annotation_count": full["annotation_count"], "problems": full["problems"]}
