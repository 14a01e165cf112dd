"""Read-side views of mission status: one board, all missions, validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.lanes import Lane
from spec_kitty.core.progress import lane_counts, progress
from spec_kitty.repo import event_log
from spec_kitty.repo.missions import Mission, list_missions
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages


@dataclass
class BoardCard:
    wp_id: str
    title: str
    lane: str
    actor: Any = None
    agent: Any = None
    dependencies: list[str] | None = None
    subtasks_done: int = 0
    subtasks_total: int = 0
    last_transition_at: str | None = None
    force_count: int = 0
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.wp_id,
            "title": self.title,
            "lane": self.lane,
            "actor": self.actor,
            "agent": self.agent,
            "dependencies": self.dependencies or [],
            "subtasks_done": self.subtasks_done,
            "subtasks_total": self.subtasks_total,
            "last_transition_at": self.last_transition_at,
            "force_count": self.force_count,
            "file": self.file,
        }


def _card(wp_id: str, wp: WorkPackage | None, state: dict[str, Any]) -> BoardCard:
    marks = state.get("subtasks") or {}
    roster = wp.subtasks if wp is not None and wp.subtasks else list(marks)
    return BoardCard(
        wp_id=wp_id,
        title=wp.title if wp is not None else wp_id,
        lane=state.get("lane", Lane.UNINITIALIZED.value),
        actor=state.get("actor"),
        agent=state.get("agent") or (wp.agent if wp is not None else None),
        dependencies=wp.dependencies if wp is not None else [],
        subtasks_done=sum(1 for task in roster if marks.get(task) == "done"),
        subtasks_total=len(roster),
        last_transition_at=state.get("last_transition_at"),
        force_count=state.get("force_count", 0),
        file=wp.file if wp is not None else None,
    )


def mission_board(project: ProjectPaths, mission: Mission) -> dict[str, Any]:
    """The board of one mission: snapshot + WP metadata, as one JSON-able dict."""
    snapshot = event_log.load_snapshot(project, mission)
    wps = {wp.wp_id: wp for wp in load_work_packages(project, mission)}
    states = snapshot["work_packages"]
    ids = sorted(set(states) | set(wps))
    cards = [_card(wp_id, wps.get(wp_id), states.get(wp_id, {})) for wp_id in ids]
    counts = snapshot["summary"]
    figures = progress(counts)
    return {
        "mission_slug": mission.slug,
        "mission_id": mission.mission_id,
        "mission_number": mission.mission_number,
        "mission_type": mission.mission_type,
        "friendly_name": mission.friendly_name,
        "total_wps": figures["total_wps"],
        "by_lane": counts,
        "progress": figures,
        "progress_percentage": figures["progress_percentage"],
        "weighted_percentage": figures["weighted_percentage"],
        "done_count": figures["done_wps"],
        "event_count": snapshot["event_count"],
        "last_event_id": snapshot["last_event_id"],
        "materialized_at": snapshot["materialized_at"],
        "work_packages": [card.to_json() for card in cards],
        "problems": [f"{wp.file}: {wp.problem}" for wp in wps.values() if wp.problem],
    }


def all_missions_summary(project: ProjectPaths) -> dict[str, Any]:
    """One row per mission; a mission whose log cannot be read is reported, not zeroed."""
    rows = []
    for mission in list_missions(project):
        row: dict[str, Any] = {"mission_slug": mission.slug}
        try:
            snapshot = event_log.load_snapshot(project, mission)
            row["mission_id"] = mission.mission_id
            row["friendly_name"] = mission.friendly_name
        except SpecKittyError as exc:
            row["error"] = exc.message
            rows.append(row)
            continue
        counts = lane_counts(s["lane"] for s in snapshot["work_packages"].values())
        row.update(by_lane=counts, event_count=snapshot["event_count"],
                   last_event_at=snapshot["materialized_at"] or None, **progress(counts))
        rows.append(row)
    return {"missions": rows, "count": len(rows),
            "unreadable": [r["mission_slug"] for r in rows if "error" in r]}
