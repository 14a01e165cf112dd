"""After the target moved: ``done`` events and meta.json, then cleanup of lanes.

Cleanup removes only lane worktrees that are clean and fully merged and deletes only
merged branches; anything else is kept and reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spec_kitty.core.status.lanes import Lane
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo.jsonio import write_json
from spec_kitty.repo.lanes_file import read_lanes
from spec_kitty.repo.missions import META_FILE, Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.services.execution import workspaces
from spec_kitty.services.faults import crash_point
from spec_kitty.services.merge import state as merge_state
from spec_kitty.services.merge.phases import containing_ref
from spec_kitty.services.merge.state import MergeState
from spec_kitty.services.status import events_factory

MERGE_ACTOR = "spec-kitty-merge"


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


def phase_done(project: ProjectPaths, mission: Mission, state: MergeState) -> list[str]:
    from spec_kitty.services.status.transitions import record

    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        states = event_log.snapshot_of(mission, parsed)["work_packages"]
        rows = _done_rows(mission, states, parsed, state)
        meta = dict(mission.meta)
        meta.update(merged_at=meta.get("merged_at") or utc_now_iso(),
                    merged_into=state.target_branch, merge_strategy=state.strategy)
        if state.created_commit:
            # Only a commit this merge made is "the merge commit"; a run that found the
            # mission merged already never repoints it at some later commit.
            meta["merge_commit"] = state.new_target
        write_json(mission.path / META_FILE, meta)
        crash_point("merge:done:before-commit")
        record(project, mission, rows, extra_paths=(mission.path / META_FILE,),
               message=f"chore({mission.slug}): record done transitions for merged work "
               "packages", required_commit=True)
    from spec_kitty.services.status import status_observers

    status_observers.notify_mission(project.root, mission.slug)  # MissionMerged
    state.done_wps = sorted({row["wp_id"] for row in rows} | _marked_done_by(parsed, state))
    state.phase = "cleanup"
    merge_state.save(project, mission, state)
    return state.done_wps


def _marked_done_by(parsed: Any, state: MergeState) -> set[str]:
    """Work packages an earlier run of this merge already marked done (it was killed
    after recording them): a resumed merge still reports them in ``done_wps``."""
    return {row["wp_id"] for row in parsed.transitions
            if row.get("to_lane") == Lane.DONE.value and row.get("actor") == MERGE_ACTOR
            and (row.get("policy_metadata") or {}).get("merge_commit") == state.new_target}


def phase_cleanup(project: ProjectPaths, mission: Mission,
                   state: MergeState) -> dict[str, Any]:
    from spec_kitty.git import history, worktrees

    crash_point("merge:cleanup:before")
    container = containing_ref(state)
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


