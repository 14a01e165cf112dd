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

from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.missions import META_FILE, Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.services.faults import crash_point
from spec_kitty.services.merge import state as merge_state
from spec_kitty.services.merge.bookkeeping import phase_cleanup, phase_done
from spec_kitty.services.merge.phases import (
    Progress,
    phase_advance,
    phase_lanes,
    phase_target,
)
from spec_kitty.services.merge.preflight import (
    Allowances,
    PreflightFailed,
    already_merged,
    preflight,
)
from spec_kitty.services.merge.state import MergeState
from spec_kitty.services.status.status_commit import commit_status


def _quiet(_event: str, _info: dict[str, Any]) -> None:
    pass


def _start(project: ProjectPaths, mission: Mission, strategy: str, push: bool,
           allow: Allowances) -> MergeState:
    from spec_kitty.git import history, worktrees

    check = preflight(project, mission, allow)
    if check.problems:
        raise PreflightFailed(check.problems)
    # Commit the status history first: an abort then returns to a commit that has it all.
    commit_status(project, mission, f"chore({mission.slug}): status before merge",
                  (mission.path / META_FILE,), required=True)
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
    cleanup: dict[str, Any] = {"kept_worktrees": [], "deleted_branches": []}
    while state.phase != "complete":
        progress("phase", {"phase": state.phase})
        if state.phase == "lanes":
            phase_lanes(project, mission, state, progress)
        elif state.phase == "target":
            phase_target(project, mission, state)
        elif state.phase == "advance":
            phase_advance(project, mission, state)
        elif state.phase == "done":
            phase_done(project, mission, state)
        elif state.phase == "cleanup":
            cleanup = phase_cleanup(project, mission, state)
            state.phase = "complete"
    merge_state.clear(project, mission)
    result = {"result": "success", "mission_slug": mission.slug,
              "target_branch": state.target_branch, "strategy": state.strategy,
              "merged_lanes": state.lanes_done, "merge_commit": state.new_target,
              "archive_ref": state.archive_ref, "done_wps": state.done_wps, **cleanup}
    if state.push:
        result["pushed"], result["push_output"] = _push(project, state.target_branch)
    return result


def _push(project: ProjectPaths, target: str) -> tuple[bool, str]:
    from spec_kitty.git import runner

    proc = runner.run(["push", "origin", target], project.root, check=False)
    return proc.returncode == 0, (proc.stderr + proc.stdout).strip()


def _refuse_inside_a_lane_worktree(project: ProjectPaths) -> None:
    """MERGE_FROM_WORKTREE when the cwd is under ``.worktrees/``: cleanup removes the
    lane worktrees, and the caller's shell would be left in a deleted directory."""
    from pathlib import Path

    try:
        inside = Path.cwd().resolve().relative_to(project.worktrees_dir.resolve())
    except (OSError, ValueError):
        return
    where = project.worktrees_dir / inside.parts[0] if inside.parts else project.worktrees_dir
    raise SpecKittyError(
        f"merge runs from the main checkout, not from {where}: it removes merged lane "
        "worktrees when it is done.", "MERGE_FROM_WORKTREE",
        hint=f"cd {project.root} and run it again.", details={"cwd": str(Path.cwd())})


def run_merge(project: ProjectPaths, mission: Mission, strategy: str, push: bool = False,
              resume: bool = False, progress: Progress = _quiet,
              allow: Allowances = Allowances()) -> dict[str, Any]:
    """Merge (or resume merging) the mission; returns the JSON answer.

    Idempotent: a mission whose merge already finished answers ``already_merged`` with
    its merge commit and nothing is written. Raises ``MERGE_PREFLIGHT_FAILED``,
    ``MERGE_CONFLICT``, ``TARGET_NOT_ADVANCED``, ``MERGE_IN_PROGRESS``...
    """
    from spec_kitty.services.status.status_health import ensure_log_present

    _refuse_inside_a_lane_worktree(project)
    ensure_log_present(project, mission)
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
            done = already_merged(project, mission)
            if done is not None:
                return done
            state = _start(project, mission, strategy, push, allow)
        return _drive(project, mission, state, progress)

