"""The merge phases that move commits: lanes → mission branch, mission → target, and
moving the target branch. All merging happens in a temporary worktree; the user's
checkout is only ever fast-forwarded (git refuses rather than overwrite changes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.services.execution import workspaces
from spec_kitty.services.faults import crash_point
from spec_kitty.services.merge import state as merge_state
from spec_kitty.services.merge.state import MergeState

Progress = Callable[[str, dict[str, Any]], None]


class MergeConflict(SpecKittyError):
    def __init__(self, phase: str, files: list[str], workspace: str, mission: Mission) -> None:
        super().__init__(
            f"Merge stopped on a conflict during the {phase} phase in "
            f"{', '.join(files) or 'the workspace'}. Nothing was lost; the state is saved.",
            "MERGE_CONFLICT",
            details={"phase": phase, "conflicts": files, "workspace": workspace},
            hint=f"Resolve the files in {workspace} and commit there (or run `git rebase "
            f"--continue`), then `spec-kitty merge --mission {mission.slug} --resume`; or "
            f"`spec-kitty merge --mission {mission.slug} --abort` to undo everything.")


class TargetNotAdvanced(SpecKittyError):
    def __init__(self, target: str, where: Path, reason: str, mission: Mission) -> None:
        super().__init__(
            f"Could not move {target} in {where}: {reason}",
            "TARGET_NOT_ADVANCED", details={"worktree": str(where)},
            hint=f"Commit or stash your local changes there, then `spec-kitty merge --mission "
            f"{mission.slug} --resume`.")


def _reset_workspace(ws: Path, ref: str) -> None:
    """Bring the temporary merge worktree (ours alone) back to a clean ``ref``."""
    from spec_kitty.git import history, runner

    git_dir = Path(runner.output(["rev-parse", "--git-dir"], ws))
    (git_dir if git_dir.is_absolute() else ws / git_dir).joinpath("index.lock").unlink(
        missing_ok=True)
    if history.rebase_in_progress(ws):
        runner.run(["rebase", "--abort"], ws, check=False)
    history.abort_merge(ws)
    history.checkout_detached(ws, ref)
    history.reset_hard(ws, ref)
    runner.run(["clean", "-fdq"], ws)


def _conclude_resolution(state: MergeState, mission: Mission, must_contain: str) -> str:
    """After a conflict: accept the user's resolution once it is complete and committed."""
    from spec_kitty.git import history, runner

    ws = Path(state.workspace)
    remaining = history.unmerged_paths(ws)
    if remaining:
        raise MergeConflict(state.phase, remaining, state.workspace, mission)
    if history.rebase_in_progress(ws):
        raise MergeConflict(state.phase, ["(rebase still in progress)"], state.workspace,
                            mission)
    if history.merge_in_progress(ws):
        runner.run(["commit", "--no-edit", "--no-verify", "-q"], ws)
    head = history.rev(ws, "HEAD")
    if head is None or not history.is_ancestor(ws, must_contain, head):
        raise MergeConflict(state.phase, ["(the workspace does not contain the merge)"],
                            state.workspace, mission)
    state.conflicts = []
    return head


def phase_lanes(project: ProjectPaths, mission: Mission, state: MergeState,
                 progress: Progress) -> None:
    from spec_kitty.git import history, worktrees

    ws = Path(state.workspace)
    ref = f"refs/heads/{state.mission_branch}"
    for index, lane_id in enumerate(state.lane_order):
        if lane_id in state.lanes_done:
            continue
        progress("lane", {"lane_id": lane_id, "index": index, "total": len(state.lane_order)})
        branch = workspaces.lane_branch(mission, lane_id)
        tip = history.rev(project.root, branch)
        mission_tip = history.rev(project.root, state.mission_branch)
        assert tip is not None and mission_tip is not None
        head: str | None
        if state.current_lane == lane_id and state.conflicts:
            head = _conclude_resolution(state, mission, tip)
        else:
            _reset_workspace(ws, mission_tip)
            if history.is_ancestor(project.root, tip, mission_tip):
                state.lanes_done.append(lane_id)
                merge_state.save(project, mission, state)
                continue
            crash_point("merge:lanes:before-merge")
            ok, conflicts = history.merge(ws, branch, f"Merge {lane_id} into "
                                          f"{state.mission_branch}")
            if not ok:
                state.current_lane, state.conflicts = lane_id, conflicts
                merge_state.save(project, mission, state)
                raise MergeConflict("lanes", conflicts, state.workspace, mission)
            head = history.rev(ws, "HEAD")
            assert head is not None
        crash_point("merge:lanes:before-ref")
        worktrees.update_ref(project.root, ref, head, mission_tip)
        state.lanes_done.append(lane_id)
        state.current_lane = None
        merge_state.save(project, mission, state)
    state.phase = "target"
    merge_state.save(project, mission, state)


def phase_target(project: ProjectPaths, mission: Mission, state: MergeState) -> None:
    from spec_kitty.git import history, runner, worktrees

    ws = Path(state.workspace)
    mission_tip = history.rev(project.root, state.mission_branch)
    assert mission_tip is not None
    resolved_by_hand = bool(state.conflicts)
    head: str | None
    if resolved_by_hand:
        head = _conclude_resolution(state, mission, mission_tip if state.strategy != "rebase"
                                    else state.target_base or mission_tip)
    else:
        crash_point("merge:target:before")
        target_tip = history.rev(project.root, state.target_branch)
        assert target_tip is not None
        state.target_base = target_tip
        if history.is_ancestor(project.root, mission_tip, target_tip):
            head = target_tip  # already contained: nothing to merge, no merge commit
        elif state.strategy == "rebase":
            _reset_workspace(ws, mission_tip)
            proc = runner.run(["rebase", "-q", target_tip], ws, check=False)
            if proc.returncode != 0:
                state.conflicts = history.unmerged_paths(ws) or ["(rebase stopped)"]
                merge_state.save(project, mission, state)
                raise MergeConflict("target", state.conflicts, state.workspace, mission)
            head = history.rev(ws, "HEAD")
        else:
            _reset_workspace(ws, target_tip)
            ok, conflicts = history.merge(ws, state.mission_branch,
                                          f"Merge mission {mission.slug} into "
                                          f"{state.target_branch}")
            if not ok:
                state.conflicts = conflicts
                merge_state.save(project, mission, state)
                raise MergeConflict("target", conflicts, state.workspace, mission)
            head = history.rev(ws, "HEAD")
    assert head is not None and state.target_base is not None
    if state.strategy == "squash" and head != state.target_base:
        head = history.commit_tree(project.root, history.tree_of(project.root, head),
                                   state.target_base,
                                   f"feat({mission.slug}): {mission.friendly_name} (squashed)")
    if state.strategy in ("squash", "rebase"):
        # Keep every original lane commit reachable after squashing or rebasing.
        state.archive_ref = f"refs/spec-kitty/archive/{mission.slug}"
        worktrees.update_ref(project.root, state.archive_ref, mission_tip)
    state.expected_tree = None if resolved_by_hand else history.tree_of(project.root, head)
    state.created_commit = head != state.target_base
    state.new_target = head
    state.phase = "advance"
    merge_state.save(project, mission, state)


def containing_ref(state: MergeState) -> str:
    return state.archive_ref or f"refs/heads/{state.target_branch}"


def _verify(project: ProjectPaths, mission: Mission, state: MergeState) -> None:
    from spec_kitty.git import history

    container = containing_ref(state)
    missing = []
    for lane_id in state.lanes_done:
        tip = history.rev(project.root, workspaces.lane_branch(mission, lane_id))
        merged = history.rev(project.root, state.mission_branch)
        if tip and merged and history.is_ancestor(project.root, tip, merged) and not \
                history.is_ancestor(project.root, tip, container):
            missing.append(lane_id)
    if state.new_target and not history.is_ancestor(project.root, state.new_target,
                                                    state.target_branch):
        missing.append("(the merge result)")
    if missing:
        raise SpecKittyError(f"Verification failed: {', '.join(missing)} not contained in "
                             f"{container}; no done events were written.",
                             "MERGE_VERIFICATION_FAILED")


def move_branch(project: ProjectPaths, mission: Mission, branch: str, new: str, current: str,
                checked_out_move: Callable[[Path, str], tuple[bool, str]]) -> None:
    """Point ``branch`` at ``new``. Where it is checked out, the move goes through git's
    working-tree-aware command (``checked_out_move``), which refuses rather than drop local
    changes; elsewhere the ref moves only if it still points at ``current``."""
    from spec_kitty.git import worktrees

    holder = worktrees.worktree_for_branch(project.root, branch)
    if holder is None:
        worktrees.update_ref(project.root, f"refs/heads/{branch}", new, current)
        return
    ok, reason = checked_out_move(holder.path, new)
    if not ok:
        raise TargetNotAdvanced(branch, holder.path, reason, mission)


def phase_advance(project: ProjectPaths, mission: Mission, state: MergeState) -> bool:
    """Move the target; returns False when the target moved meanwhile (redo target)."""
    from spec_kitty.git import history

    assert state.new_target is not None
    crash_point("merge:advance:before")
    current = history.rev(project.root, state.target_branch)
    assert current is not None
    if current != state.new_target:
        if not history.is_ancestor(project.root, current, state.new_target):
            state.phase, state.new_target, state.conflicts = "target", None, []
            merge_state.save(project, mission, state)
            return False
        move_branch(project, mission, state.target_branch, state.new_target, current,
                    history.fast_forward)
    crash_point("merge:advance:after")
    _verify(project, mission, state)
    state.phase = "done"
    merge_state.save(project, mission, state)
    return True


