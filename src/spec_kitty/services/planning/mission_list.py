"""``spec-kitty mission list``: every mission with its documents and board counts."""

from __future__ import annotations

from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo import templates
from spec_kitty.repo.missions import Mission, list_missions
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log

ARTIFACTS = ("spec.md", "plan.md", "tasks.md", "research.md", "lanes.json")


def describe(project: ProjectPaths, mission: Mission) -> dict[str, Any]:
    entry: dict[str, Any] = {"mission_slug": mission.slug, "feature_dir": str(mission.path)}
    try:
        entry.update(
            mission_id=mission.mission_id,
            mid8=mission.mid8,
            friendly_name=mission.friendly_name,
            mission_type=mission.mission_type,
            target_branch=mission.meta.get("target_branch"),
            created_at=mission.meta.get("created_at"),
        )
        snapshot = event_log.load_snapshot(project, mission)
        entry["by_lane"] = snapshot["summary"]
        entry["wp_count"] = len(snapshot["work_packages"])
    except SpecKittyError as exc:
        entry["error"] = exc.message
    entry["artifacts"] = {name: (mission.path / name).exists() for name in ARTIFACTS}
    for name in ("spec", "plan", "tasks"):
        entry[f"{name}_file"] = str(mission.path / f"{name}.md")
    return entry


def mission_list(project: ProjectPaths) -> dict[str, Any]:
    missions = [describe(project, m) for m in list_missions(project)]
    return {"missions": missions, "count": len(missions)}


def mission_types() -> dict[str, Any]:
    return {"mission_types": list(templates.MISSION_TYPES), "default": "software-dev"}
