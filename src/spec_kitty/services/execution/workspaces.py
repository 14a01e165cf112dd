"""Lane worktrees: allocate, re-attach after a crash, reuse when clean, and feed them
their dependency lanes' work.

Names: mission branch ``kitty/mission-<slug>``, lane branch
``kitty/mission-<slug>-<lane>``, worktree ``.worktrees/<slug>-<lane>/``. Work packages in
``lane-planning`` have no worktree: they run in the main checkout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

PLANNING_LANE = "lane-planning"


def mission_branch(mission: Mission) -> str:
    return f"kitty/mission-{mission.slug}"


def lane_branch(mission: Mission, lane_id: str) -> str:
    return f"kitty/mission-{mission.slug}-{lane_id}"


def lane_path(project: ProjectPaths, mission: Mission, lane_id: str) -> Path:
    return project.worktrees_dir / f"{mission.slug}-{lane_id}"


def context_path(project: ProjectPaths, mission: Mission, lane_id: str) -> Path:
    return project.kittify / "workspaces" / f"{mission.slug}-{lane_id}.json"


@dataclass
class Workspace:
    lane_id: str
    path: Path
    branch: str | None
    route: str  # created | reused | recovered | main-checkout
    merged_dependencies: list[str] = field(default_factory=list)
    has_local_changes: bool = False

    @property
    def execution_mode(self) -> str:
        return "direct_repo" if self.lane_id == PLANNING_LANE else "worktree"


class DirtyWorktree(SpecKittyError):
    def __init__(self, path: Path, files: list[str]) -> None:
        shown = ", ".join(files[:10]) + (" ..." if len(files) > 10 else "")
        super().__init__(
            f"The lane worktree {path} has uncommitted changes ({shown}); spec-kitty will not "
            "reuse it until they are committed or removed.",
            "DIRTY_WORKTREE", details={"worktree": str(path), "files": files})


class DependencyLaneConflict(SpecKittyError):
    def __init__(self, lane_id: str, dep_branch: str, files: list[str]) -> None:
        super().__init__(
            f"Merging dependency branch {dep_branch} into {lane_id} conflicts in "
            f"{', '.join(files) or 'some files'}; the lane was left exactly as it was.",
            "DEPENDENCY_LANE_MERGE_CONFLICT",
            details={"lane_id": lane_id, "dependency_branch": dep_branch, "files": files},
            hint="Resolve the overlap between the lanes (or make the work packages depend on "
            "each other in one lane), then run implement again.")


def ensure_mission_branch(project: ProjectPaths, mission: Mission, target: str) -> str:
    from spec_kitty.git import history, worktrees

    branch = mission_branch(mission)
    if history.rev(project.root, branch) is None:
        if history.rev(project.root, target) is None:
            raise SpecKittyError(f"Target branch {target!r} does not exist.",
                                 "TARGET_BRANCH_MISSING")
        worktrees.create_branch(project.root, branch, target)
    return branch


def _registered(project: ProjectPaths, path: Path) -> bool:
    from spec_kitty.git import worktrees

    return any(t.path.resolve() == path.resolve() for t in worktrees.list_worktrees(project.root))


def _allocate(project: ProjectPaths, mission: Mission, lane_id: str, parent: str,
              wp_id: str) -> Workspace:
    from spec_kitty.git import history, worktrees

    path, branch = lane_path(project, mission, lane_id), lane_branch(mission, lane_id)
    if path.exists() and _registered(project, path):
        # Uncommitted changes are fine when they are this work package's own work in progress.
        dirty = worktrees.dirty_paths(path)
        if dirty and read_context(project, mission, lane_id).get("current_wp") != wp_id:
            raise DirtyWorktree(path, dirty)
        return Workspace(lane_id, path, branch, "reused", has_local_changes=bool(dirty))
    if path.exists():
        raise SpecKittyError(f"{path} exists but is not a git worktree of this repository; "
                             "move it away and run implement again.", "WORKSPACE_PATH_TAKEN")
    path.parent.mkdir(parents=True, exist_ok=True)
    if history.rev(project.root, branch) is not None:
        worktrees.prune(project.root)  # the directory is gone: forget the stale registration
        worktrees.add(project.root, path, branch)
        return Workspace(lane_id, path, branch, "recovered")
    worktrees.add(project.root, path, parent, new_branch=branch)
    return Workspace(lane_id, path, branch, "created")


def _merge_dependencies(project: ProjectPaths, mission: Mission, manifest: dict[str, Any],
                        lane: dict[str, Any], workspace: Workspace) -> None:
    """Bring every dependency lane's tip in, all or nothing."""
    from spec_kitty.git import history

    order = {entry["lane_id"]: (entry.get("parallel_group", 0), entry["lane_id"])
             for entry in manifest["lanes"]}
    deps = sorted(lane.get("depends_on_lanes", []), key=lambda d: order.get(d, (0, d)))
    before = history.rev(workspace.path, "HEAD")
    assert before is not None
    for dep in deps:
        dep_branch = lane_branch(mission, dep)
        tip = history.rev(project.root, dep_branch)
        if tip is None:
            history.reset_hard(workspace.path, before)
            raise SpecKittyError(
                f"Dependency lane branch {dep_branch} does not exist, so {lane['lane_id']} "
                "cannot start with the work it depends on.", "DEPENDENCY_LANE_MISSING",
                hint=f"Implement the work packages of {dep} first.")
        if history.is_ancestor(workspace.path, tip, "HEAD"):
            continue
        ok, conflicts = history.merge(workspace.path, dep_branch,
                                      f"Merge {dep} into {lane['lane_id']} (dependency)")
        if not ok:
            history.abort_merge(workspace.path)
            history.reset_hard(workspace.path, before)
            raise DependencyLaneConflict(lane["lane_id"], dep_branch, conflicts)
        workspace.merged_dependencies.append(dep)


def write_context(project: ProjectPaths, mission: Mission, workspace: Workspace,
                  lane: dict[str, Any], wp_id: str, base_commit: str | None) -> dict[str, Any]:
    path = context_path(project, mission, workspace.lane_id)
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        existing = {}
    bases = dict(existing.get("wp_base_commits") or {})
    bases.setdefault(wp_id, base_commit)
    context = {
        "mission_slug": mission.slug,
        "lane_id": workspace.lane_id,
        "lane_wp_ids": lane.get("wp_ids", []),
        "current_wp": wp_id,
        "worktree_path": str(workspace.path),
        "branch_name": workspace.branch,
        "base_branch": mission_branch(mission),
        "wp_base_commits": bases,
        "updated_at": utc_now_iso(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(context, indent=2, sort_keys=True) + "\n")
    return context


def read_context(project: ProjectPaths, mission: Mission, lane_id: str) -> dict[str, Any]:
    try:
        data = json.loads(context_path(project, mission, lane_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def prepare_workspace(project: ProjectPaths, mission: Mission, manifest: dict[str, Any],
                      lane: dict[str, Any], wp_id: str) -> Workspace:
    """The lane's worktree, ready to work in (or the main checkout for lane-planning)."""
    if lane["lane_id"] == PLANNING_LANE:
        return Workspace(PLANNING_LANE, project.root, None, "main-checkout")
    parent = ensure_mission_branch(project, mission, str(manifest.get("target_branch")))
    workspace = _allocate(project, mission, lane["lane_id"], parent, wp_id)
    if workspace.has_local_changes:
        return workspace  # the WP's own work in progress: merge nothing into it now
    _merge_dependencies(project, mission, manifest, lane, workspace)
    install_guard(project, workspace)
    return workspace


GUARD_SCRIPT = """#!/bin/sh
# spec-kitty ownership guard for lane worktrees (installed by `spec-kitty implement`).
# It runs the interpreter that installed it, by absolute path: spec-kitty need not be
# on PATH, and another spec-kitty on PATH is never picked up by mistake.
if [ -x {python} ]; then
    {python} -m spec_kitty agent guard pre-commit || exit $?
else
    echo "spec-kitty: the ownership guard's interpreter {python} is gone;" \
         "run spec-kitty implement again to reinstall the hook" >&2
    exit 1
fi
# Then the repository's own pre-commit hook, if it has one.
hook="$(git rev-parse --git-common-dir)/hooks/pre-commit"
if [ -x "$hook" ]; then
    exec "$hook" "$@"
fi
"""


def install_guard(project: ProjectPaths, workspace: Workspace) -> None:
    """Point this worktree (only) at a hooks directory holding the ownership guard."""
    import os
    import shlex
    import sys

    from spec_kitty.git import runner

    lock_dir = project.lock_dir()
    hooks = lock_dir.parent / "spec-kitty-hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    script = hooks / "pre-commit"
    text = GUARD_SCRIPT.format(python=shlex.quote(sys.executable))
    if not script.exists() or script.read_text() != text:
        write_text_atomic(script, text)
        os.chmod(script, 0o755)
    runner.run(["config", "extensions.worktreeConfig", "true"], project.root)
    runner.run(["config", "--worktree", "core.hooksPath", str(hooks)], workspace.path)
