"""``kitty-specs/<mission>/lanes.json``: the execution-lane manifest.

Reading fails closed: a missing or unparseable manifest is an error, never a silent
fallback, because lanes decide which worktree a work package is implemented in.
"""

from __future__ import annotations

from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.jsonio import read_json_object, write_json
from spec_kitty.repo.missions import Mission

VERSION = 1
# Fields that change on every computation without changing the lanes themselves.
VOLATILE_FIELDS = ("computed_at", "planning_commit_sha")


class LanesMissing(SpecKittyError):
    def __init__(self, mission: Mission) -> None:
        super().__init__(
            f"{mission.lanes_file} does not exist; run finalize-tasks first.",
            "LANES_MISSING",
            hint=f"spec-kitty agent mission finalize-tasks --mission {mission.slug}",
        )


def read_lanes(mission: Mission) -> dict[str, Any]:
    if not mission.lanes_file.exists():
        raise LanesMissing(mission)
    data = read_json_object(mission.lanes_file)
    lanes = data.get("lanes")
    if data.get("version") != VERSION or not isinstance(lanes, list):
        raise SpecKittyError(
            f"{mission.lanes_file}: unsupported lanes manifest (version {data.get('version')!r})",
            "LANES_CORRUPT",
        )
    return data


def same_lanes(old: dict[str, Any], new: dict[str, Any]) -> bool:
    strip = {k: v for k, v in old.items() if k not in VOLATILE_FIELDS}
    return strip == {k: v for k, v in new.items() if k not in VOLATILE_FIELDS}


def write_lanes(mission: Mission, manifest: dict[str, Any]) -> bool:
    """Write the manifest unless only volatile fields would change; returns whether written."""
    if mission.lanes_file.exists():
        try:
            if same_lanes(read_json_object(mission.lanes_file), manifest):
                return False
        except SpecKittyError:
            pass  # a corrupt manifest is simply replaced
    return write_json(mission.lanes_file, manifest)


def lane_for_wp(manifest: dict[str, Any], wp_id: str) -> dict[str, Any] | None:
    if wp_id in manifest.get("planning_artifact_wps", []):
        return {"lane_id": "lane-planning", "wp_ids": manifest["planning_artifact_wps"],
                "depends_on_lanes": [], "parallel_group": 0, "write_scope": []}
    return next((lane for lane in manifest["lanes"] if wp_id in lane.get("wp_ids", [])), None)
