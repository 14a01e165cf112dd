"""Everything ``merge`` checks before it touches anything, and the ``--dry-run`` forecast.

Besides branches and lanes, two checks keep work from silently going missing or
sneaking in: a lane worktree with uncommitted changes to its files (they would never
reach the target, yet the work packages would be marked done) and lane commits that
touch ``kitty-specs/`` or files no work package of the lane owns (the ownership guard
was bypassed, e.g. with ``--no-verify``). Both refuse the merge unless explicitly
allowed (``--allow-uncommitted``, ``--allow-unowned``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.lanes_file import read_lanes
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import SPECS_DIR, ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.services.execution import workspaces

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


@dataclass(frozen=True)
class Allowances:
    """What the user explicitly accepted for this merge."""

    uncommitted: bool = False  # --allow-uncommitted
    unowned: bool = False  # --allow-unowned


def _lane_globs(mission: Mission, project: ProjectPaths, lane: LanePlan,
                manifest: dict[str, Any]) -> list[str]:
    from spec_kitty.repo.work_packages import load_work_packages, require_readable

    # Fail closed: an unreadable WP file's owned files are unknown, not none.
    globs = [g for wp in load_work_packages(project, mission) if wp.wp_id in lane.wp_ids
             for g in require_readable(mission, wp).owned_files]
    entry: dict[str, Any] = next(
        (e for e in manifest["lanes"] if e["lane_id"] == lane.lane_id), {})
    return globs + list(entry.get("write_scope", []))


def _leftovers(path: Any, globs: list[str]) -> list[str]:
    """Uncommitted work in a lane worktree: tracked changes, and new files it owns."""
    from spec_kitty.core.ownership import matches
    from spec_kitty.git import worktrees

    return [rel for code, rel in worktrees.dirty_entries(path)
            if code != "??" or any(matches(g, rel) for g in globs)]


def _unowned(lane: LanePlan, globs: list[str]) -> list[str]:
    from spec_kitty.core.ownership import matches

    return [rel for rel in lane.files if rel == SPECS_DIR or rel.startswith(SPECS_DIR + "/")
            or not any(matches(g, rel) for g in globs)]


def _lane_problems(project: ProjectPaths, mission: Mission, manifest: dict[str, Any],
                   lane: LanePlan, allow: Allowances) -> tuple[list[str], list[str]]:
    """(problems, warnings) about one existing lane's worktree and commits."""
    problems: list[str] = []
    warnings: list[str] = []
    globs = _lane_globs(mission, project, lane, manifest)
    path = workspaces.lane_path(project, mission, lane.lane_id)
    if path.exists():
        leftovers = _leftovers(path, globs)
        if leftovers:
            text = (f"{path} has uncommitted changes that would not be merged: "
                    + ", ".join(leftovers[:5]) + (" ..." if len(leftovers) > 5 else ""))
            if allow.uncommitted:
                warnings.append(text + " (allowed by --allow-uncommitted)")
            else:
                problems.append(text + "; commit them in the lane worktree (or pass "
                                "--allow-uncommitted to merge without them)")
    unowned = _unowned(lane, globs)
    if unowned:
        text = (f"{lane.lane_id} has commits touching files its work packages do not own "
                f"(or kitty-specs/): " + ", ".join(unowned[:8])
                + (" ..." if len(unowned) > 8 else ""))
        if allow.unowned:
            warnings.append(text + " (allowed by --allow-unowned)")
        else:
            problems.append(text + "; move those changes to the work package that owns "
                            "them (or pass --allow-unowned)")
    return problems, warnings


def already_merged(project: ProjectPaths, mission: Mission) -> dict[str, Any] | None:
    """The answer for a mission whose merge already finished, or None."""
    from spec_kitty.git import history

    meta = mission.meta
    target = meta.get("merged_into")
    if not meta.get("merged_at") or not target:
        return None
    states = event_log.load_snapshot(project, mission)["work_packages"]
    if not states or any(s["lane"] not in ("done", "canceled") for s in states.values()):
        return None
    sha = meta.get("merge_commit")
    if sha and history.rev(project.root, str(target)) and not history.is_ancestor(
            project.root, str(sha), str(target)):
        return None
    where = f" at {str(sha)[:12]}" if sha else ""
    return {"result": "already_merged", "already_merged": True, "mission_slug": mission.slug,
            "target_branch": target, "merge_commit": sha, "merged_at": meta.get("merged_at"),
            "merged_lanes": [], "done_wps": [], "kept_worktrees": [], "deleted_branches": [],
            "strategy": meta.get("merge_strategy"), "archive_ref": None,
            "message": f"{mission.slug} is already merged into {target}{where}; nothing "
            "was written."}


def preflight(project: ProjectPaths, mission: Mission,
              allow: Allowances = Allowances()) -> Preflight:
    """Every check, nothing written: problems refuse the merge, warnings are reported."""
    from spec_kitty.git import history
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
        if lane.exists:
            lane_problems, lane_warnings = _lane_problems(project, mission, manifest, lane,
                                                          allow)
            problems += lane_problems
            warnings += lane_warnings
    return Preflight(target, mission_branch, lanes, problems, warnings, states)


def forecast(project: ProjectPaths, mission: Mission, strategy: str,
             allow: Allowances = Allowances()) -> dict[str, Any]:
    """What a merge would do, and which files several lanes (or the target) also changed."""
    from spec_kitty.git import history

    done = already_merged(project, mission)
    if done is not None:
        return {**done, "dry_run": True, "would_merge": False, "problems": [],
                "warnings": [], "lanes": [], "overlaps": [], "target_overlaps": []}
    check = preflight(project, mission, allow)
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
