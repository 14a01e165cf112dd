"""Everything ``merge`` checks before it touches anything, and the ``--dry-run`` forecast."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo import event_log
from spec_kitty.repo.lanes_file import read_lanes
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.services import workspaces

STRATEGIES = ("merge", "squash", "rebase")
MERGEABLE = ("approved", "done", "canceled")


@dataclass
class LanePlan:
    lane_id: str
    branch: str
    wp_ids: list[str]
    exists: bool
    tip: str | None = None
    commits_ahead: int = 0
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"lane_id": self.lane_id, "branch": self.branch, "wp_ids": self.wp_ids,
                "exists": self.exists, "tip": self.tip, "commits_ahead": self.commits_ahead,
                "files_changed": self.files}


@dataclass
class Preflight:
    target: str
    mission_branch: str
    lanes: list[LanePlan]
    problems: list[str]
    warnings: list[str]
    states: dict[str, Any]


class PreflightFailed(SpecKittyError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("merge preflight failed: " + "; ".join(problems),
                         "MERGE_PREFLIGHT_FAILED", details={"problems": problems})


def resolve_strategy(project: ProjectPaths, requested: str | None) -> str:
    from spec_kitty.repo.config import load_config

    strategy = requested
    if strategy is None and project.config_file.exists():
        merge_cfg = load_config(project.config_file).get("merge")
        strategy = merge_cfg.get("strategy") if isinstance(merge_cfg, dict) else None
    strategy = strategy or "merge"
    if strategy not in STRATEGIES:
        raise SpecKittyError(f"Unknown merge strategy {strategy!r} (use {', '.join(STRATEGIES)}).",
                             "INVALID_MERGE_STRATEGY")
    return strategy


def _lane_plans(project: ProjectPaths, mission: Mission, manifest: dict[str, Any],
                base: str | None) -> list[LanePlan]:
    from spec_kitty.git import history

    plans = []
    ordered = sorted(manifest["lanes"], key=lambda lane: (lane.get("parallel_group", 0),
                                                          lane["lane_id"]))
    for lane in ordered:
        branch = workspaces.lane_branch(mission, lane["lane_id"])
        tip = history.rev(project.root, branch)
        plan = LanePlan(lane["lane_id"], branch, list(lane.get("wp_ids", [])), tip is not None,
                        tip)
        if tip is not None and base is not None:
            plan.commits_ahead = history.commits_ahead(project.root, branch, base)
            deps = tuple(b for d in lane.get("depends_on_lanes", [])
                         if history.rev(project.root, b := workspaces.lane_branch(mission, d)))
            plan.files = history.changed_files(project.root, base, branch, deps)
        plans.append(plan)
    return plans


def preflight(project: ProjectPaths, mission: Mission) -> Preflight:
    from spec_kitty.git import history, worktrees
    from spec_kitty.git import repo as git_repo

    manifest = read_lanes(mission)
    target = str(manifest.get("target_branch") or mission.meta.get("target_branch"))
    mission_branch = workspaces.mission_branch(mission)
    problems: list[str] = []
    warnings: list[str] = []
    if history.rev(project.root, target) is None:
        problems.append(f"target branch {target!r} does not exist")
    current = git_repo.current_branch(project.root)
    if current != target:
        problems.append(f"the main checkout is on {current or 'a detached HEAD'}; merge runs "
                        f"with the target branch {target!r} checked out there")
    if history.merge_in_progress(project.root) or history.rebase_in_progress(project.root):
        problems.append("a git merge or rebase is in progress in the main checkout")
    states = event_log.load_snapshot(project, mission)["work_packages"]
    pending = sorted(f"{wp} ({s['lane']})" for wp, s in states.items()
                     if s["lane"] not in MERGEABLE)
    if pending:
        problems.append("not approved: " + ", ".join(pending))
    base = history.rev(project.root, mission_branch) or history.rev(project.root, target)
    lanes = _lane_plans(project, mission, manifest, base)
    for lane in lanes:
        live = [wp for wp in lane.wp_ids if states.get(wp, {}).get("lane") != "canceled"]
        if not lane.exists and live:
            problems.append(f"{lane.lane_id} ({', '.join(live)}) has no branch {lane.branch}; "
                            "its work was never implemented in a lane worktree")
        path = workspaces.lane_path(project, mission, lane.lane_id)
        if lane.exists and path.exists():
            dirty = worktrees.dirty_paths(path)
            if dirty:
                warnings.append(f"{path} has uncommitted changes that will not be merged: "
                                + ", ".join(dirty[:5]))
    return Preflight(target, mission_branch, lanes, problems, warnings, states)


def forecast(project: ProjectPaths, mission: Mission, strategy: str) -> dict[str, Any]:
    """What a merge would do, and which files several lanes (or the target) also changed."""
    from spec_kitty.git import history

    check = preflight(project, mission)
    owners: dict[str, list[str]] = {}
    for lane in check.lanes:
        for path in lane.files:
            owners.setdefault(path, []).append(lane.lane_id)
    overlaps = [{"file": path, "lanes": lanes} for path, lanes in sorted(owners.items())
                if len(lanes) > 1]
    target_changes: list[str] = []
    mission_tip = history.rev(project.root, check.mission_branch)
    if mission_tip and history.rev(project.root, check.target):
        base = history.merge_base(project.root, mission_tip, check.target) or mission_tip
        target_changes = sorted(set(history.changed_files(project.root, base, check.target))
                                & set(owners))
    return {
        "mission_slug": mission.slug,
        "target_branch": check.target,
        "mission_branch": check.mission_branch,
        "strategy": strategy,
        "lanes": [lane.to_json() for lane in check.lanes],
        "overlaps": overlaps,
        "target_overlaps": target_changes,
        "problems": check.problems,
        "warnings": check.warnings,
        "would_merge": not check.problems,
        "dry_run": True,
    }
