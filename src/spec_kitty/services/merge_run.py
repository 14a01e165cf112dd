"""``spec-kitty merge``: bring every lane home without losing a commit or a change.

Phases run in a fixed order and each records its completion in the merge state:
``lanes`` (each lane into the mission branch with ``--no-ff``, in dependency order),
``target`` (the mission branch onto the target with the chosen strategy), ``advance``
(move the target branch; a checked-out target only fast-forwards, so git refuses
rather than overwrite uncommitted changes), ``done`` (``done`` events, committed only
after every merged lane tip is verified to be contained), ``cleanup`` (remove only
clean, fully merged worktrees and branches). All merging happens in a temporary
worktree; the user's checkout is never reset. A conflict stops the run with the
state saved: resolve it in the temporary worktree and ``--resume``, or ``--abort``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.lanes import Lane
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo import event_log
from spec_kitty.repo.jsonio import write_json
from spec_kitty.repo.lanes_file import read_lanes
from spec_kitty.repo.missions import META_FILE, Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.services import events_factory, merge_state, workspaces
from spec_kitty.services.faults import crash_point
from spec_kitty.services.merge_preflight import PreflightFailed, preflight
from spec_kitty.services.merge_state import MergeState

Progress = Callable[[str, dict[str, Any]], None]
MERGE_ACTOR = "spec-kitty-merge"


def _quiet(_event: str, _info: dict[str, Any]) -> None:
    pass


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


def _status_paths(project: ProjectPaths, mission: Mission) -> list[str]:
    return [str(p.relative_to(project.root)) for p in
            (mission.events_file, mission.snapshot_file, mission.path / META_FILE)]


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


def _phase_lanes(project: ProjectPaths, mission: Mission, state: MergeState,
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


def _phase_target(project: ProjectPaths, mission: Mission, state: MergeState) -> None:
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
            head = target_tip
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
    state.new_target = head
    state.phase = "advance"
    merge_state.save(project, mission, state)


def _containing_ref(state: MergeState) -> str:
    return state.archive_ref or f"refs/heads/{state.target_branch}"


def _verify(project: ProjectPaths, mission: Mission, state: MergeState) -> None:
    from spec_kitty.git import history

    container = _containing_ref(state)
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


def _phase_advance(project: ProjectPaths, mission: Mission, state: MergeState) -> bool:
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


def _done_rows(mission: Mission, states: dict[str, Any], parsed: Any,
               state: MergeState) -> list[dict[str, Any]]:
    approved = sorted(wp for wp, s in states.items() if s["lane"] == Lane.APPROVED.value)
    stamps = events_factory.stamps_after(parsed, len(approved))
    rows = []
    for wp_id, at in zip(approved, stamps, strict=False):
        review = states[wp_id].get("review_result") or {}
        evidence = {
            "review": {"reviewer": review.get("reviewer") or MERGE_ACTOR, "verdict": "approved",
                       "reference": review.get("reference") or f"merge:{state.new_target}"},
            "repos": [{"repo": ".", "branch": state.target_branch,
                       "commit": state.new_target}],
        }
        rows.append(events_factory.transition_row(
            mission, wp_id=wp_id, from_lane=Lane.APPROVED, to_lane=Lane.DONE, at=at,
            actor=MERGE_ACTOR, evidence=evidence,
            policy_metadata={"merge_phase": "done", "target_branch": state.target_branch,
                             "merge_commit": state.new_target}))
    return rows


def _phase_done(project: ProjectPaths, mission: Mission, state: MergeState) -> list[str]:
    from spec_kitty.git import repo as git_repo

    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        states = event_log.snapshot_of(mission, parsed)["work_packages"]
        rows = _done_rows(mission, states, parsed, state)
        if rows:
            event_log.append_rows(mission, rows, project)
        event_log.materialize(project, mission)
    meta = dict(mission.meta)
    meta.update(merged_at=meta.get("merged_at") or utc_now_iso(),
                merged_into=state.target_branch, merge_commit=state.new_target,
                merge_strategy=state.strategy)
    write_json(mission.path / META_FILE, meta)
    crash_point("merge:done:before-commit")
    git_repo.commit_paths(project.root, _status_paths(project, mission),
                          f"chore({mission.slug}): record done transitions for merged work "
                          "packages")
    state.phase = "cleanup"
    merge_state.save(project, mission, state)
    return [row["wp_id"] for row in rows]


def _phase_cleanup(project: ProjectPaths, mission: Mission,
                   state: MergeState) -> dict[str, Any]:
    from spec_kitty.git import history, worktrees

    crash_point("merge:cleanup:before")
    container = _containing_ref(state)
    kept: list[dict[str, str]] = []
    deleted: list[str] = []
    for lane in read_lanes(mission)["lanes"]:
        branch = workspaces.lane_branch(mission, lane["lane_id"])
        tip = history.rev(project.root, branch)
        merged = tip is None or history.is_ancestor(project.root, tip, container)
        path = workspaces.lane_path(project, mission, lane["lane_id"])
        holder = worktrees.worktree_for_branch(project.root, branch)
        if holder is not None:
            dirty = worktrees.dirty_paths(holder.path)
            if dirty:
                kept.append({"path": str(holder.path),
                             "reason": "uncommitted changes: " + ", ".join(dirty[:5])})
                continue
            if not merged:
                kept.append({"path": str(holder.path),
                             "reason": "commits that were not merged"})
                continue
            worktrees.remove(project.root, holder.path)
        elif path.exists():
            kept.append({"path": str(path), "reason": "not a worktree of this repository"})
        if tip is not None and merged:
            worktrees.delete_branch(project.root, branch)
            deleted.append(branch)
        elif tip is not None:
            kept.append({"path": branch, "reason": "branch has commits that were not merged"})
        workspaces.context_path(project, mission, lane["lane_id"]).unlink(missing_ok=True)
    mission_tip = history.rev(project.root, state.mission_branch)
    if mission_tip and history.is_ancestor(project.root, mission_tip, container):
        worktrees.delete_branch(project.root, state.mission_branch)
        deleted.append(state.mission_branch)
    ws = Path(state.workspace)
    if ws.exists():
        worktrees.remove(project.root, ws, force=True)  # our own temporary tree
    worktrees.prune(project.root)
    return {"kept_worktrees": kept, "deleted_branches": deleted}


def _start(project: ProjectPaths, mission: Mission, strategy: str, push: bool) -> MergeState:
    from spec_kitty.git import history, worktrees
    from spec_kitty.git import repo as git_repo

    check = preflight(project, mission)
    if check.problems:
        raise PreflightFailed(check.problems)
    # Commit the status history first: an abort then returns to a commit that has it all.
    git_repo.commit_paths(project.root, _status_paths(project, mission),
                          f"chore({mission.slug}): status before merge")
    pre_target = history.rev(project.root, check.target)
    pre_mission = history.rev(project.root, check.mission_branch)
    assert pre_target is not None
    if pre_mission is None:
        worktrees.create_branch(project.root, check.mission_branch, pre_target)
    ws = merge_state.state_dir(project, mission) / "workspace"
    if ws.exists():
        worktrees.remove(project.root, ws, force=True)
    worktrees.prune(project.root)
    ws.parent.mkdir(parents=True, exist_ok=True)
    worktrees.add(project.root, ws, check.mission_branch, detach=True)
    state = MergeState(
        mission_id=mission.mission_id or mission.slug, mission_slug=mission.slug,
        target_branch=check.target, mission_branch=check.mission_branch, strategy=strategy,
        phase="lanes", lane_order=[lane.lane_id for lane in check.lanes if lane.exists],
        pre_target=pre_target, pre_mission=pre_mission, workspace=str(ws), push=push)
    merge_state.save(project, mission, state)
    crash_point("merge:start:after-state")
    return state


def _drive(project: ProjectPaths, mission: Mission, state: MergeState,
           progress: Progress) -> dict[str, Any]:
    done_wps: list[str] = []
    cleanup: dict[str, Any] = {"kept_worktrees": [], "deleted_branches": []}
    while state.phase != "complete":
        progress("phase", {"phase": state.phase})
        if state.phase == "lanes":
            _phase_lanes(project, mission, state, progress)
        elif state.phase == "target":
            _phase_target(project, mission, state)
        elif state.phase == "advance":
            _phase_advance(project, mission, state)
        elif state.phase == "done":
            done_wps = _phase_done(project, mission, state)
        elif state.phase == "cleanup":
            cleanup = _phase_cleanup(project, mission, state)
            state.phase = "complete"
    merge_state.clear(project, mission)
    result = {"result": "success", "mission_slug": mission.slug,
              "target_branch": state.target_branch, "strategy": state.strategy,
              "merged_lanes": state.lanes_done, "merge_commit": state.new_target,
              "archive_ref": state.archive_ref, "done_wps": done_wps, **cleanup}
    if state.push:
        result["pushed"], result["push_output"] = _push(project, state.target_branch)
    return result


def _push(project: ProjectPaths, target: str) -> tuple[bool, str]:
    from spec_kitty.git import runner

    proc = runner.run(["push", "origin", target], project.root, check=False)
    return proc.returncode == 0, (proc.stderr + proc.stdout).strip()


def run_merge(project: ProjectPaths, mission: Mission, strategy: str, push: bool = False,
              resume: bool = False, progress: Progress = _quiet) -> dict[str, Any]:
    with merge_state.merge_lock(project):
        state = merge_state.load(project, mission)
        if resume and state is None:
            raise SpecKittyError(f"No interrupted merge of {mission.slug} to resume.",
                                 "NO_MERGE_IN_PROGRESS")
        if state is not None and not resume:
            raise SpecKittyError(
                f"A merge of {mission.slug} was interrupted in its {state.phase} phase.",
                "MERGE_IN_PROGRESS",
                hint="Continue it with --resume, or undo it with --abort.")
        if state is None:
            state = _start(project, mission, strategy, push)
        return _drive(project, mission, state, progress)

