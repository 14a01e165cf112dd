"""``spec-kitty merge --abort``: put the target and mission branches back.

Lane branches are never touched by a merge, so restoring the two refs the merge
moves (and deleting the archive ref it may have made) undoes it completely.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.services.merge import state as merge_state
from spec_kitty.services.merge.phases import move_branch
from spec_kitty.services.merge.state import MergeState


def abort_merge(project: ProjectPaths, mission: Mission) -> dict[str, Any]:
    """Put the target and mission branches back where they were; lanes are never touched."""
    from spec_kitty.git import history, worktrees

    with merge_state.merge_lock(project):
        state = merge_state.load(project, mission)
        if state is None:
            raise SpecKittyError(f"No interrupted merge of {mission.slug} to abort.",
                                 "NO_MERGE_IN_PROGRESS")
        if state.phase == "cleanup":
            raise SpecKittyError("The merge is complete except for cleanup; finish it with "
                                 "--resume.", "MERGE_TOO_FAR_TO_ABORT")
        restored = _restore_target(project, mission, state)
        ws = Path(state.workspace)
        if ws.exists():
            worktrees.remove(project.root, ws, force=True)  # our own temporary tree
        worktrees.prune(project.root)
        mission_ref = f"refs/heads/{state.mission_branch}"
        if state.pre_mission is None:
            if history.rev(project.root, state.mission_branch) is not None:
                worktrees.delete_branch(project.root, state.mission_branch)
        else:
            worktrees.update_ref(project.root, mission_ref, state.pre_mission)
        if state.archive_ref:
            worktrees.delete_ref(project.root, state.archive_ref)
        reopened = _undo_done_events(project, mission, state)
        merge_state.clear(project, mission)
        return {"result": "aborted", "mission_slug": mission.slug,
                "target_branch": state.target_branch, "target_restored": restored,
                "mission_branch_restored_to": state.pre_mission, "reopened_wps": reopened}


def _restore_target(project: ProjectPaths, mission: Mission, state: MergeState) -> bool:
    """Undo our commits on the target, and only ours: anything else stops the abort."""
    from spec_kitty.git import history, runner

    current = history.rev(project.root, state.target_branch)
    if current is None or current == state.pre_target:
        return False
    ours = {state.new_target}
    if state.new_target:
        # The done-events commit sits directly on top of the merge result.
        log = runner.output(["rev-list", f"{state.new_target}..{current}"], project.root)
        extra = [sha for sha in log.splitlines() if sha]
        subjects = [runner.output(["log", "-1", "--format=%s", sha], project.root)
                    for sha in extra]
        if all(s.startswith(f"chore({mission.slug}): record done") for s in subjects):
            ours.add(current)
    if current not in ours:
        raise SpecKittyError(
            f"{state.target_branch} has moved past this merge ({current[:10]}); aborting would "
            "discard commits that are not spec-kitty's.", "TARGET_MOVED",
            hint="Revert the merge commit by hand (git revert -m 1 ...) instead.")
    move_branch(project, mission, state.target_branch, state.pre_target, current,
                history.reset_keep)
    return True


def _undo_done_events(project: ProjectPaths, mission: Mission, state: MergeState) -> list[str]:
    """The log is append-only: ``done`` written by this merge is answered, not erased."""
    from spec_kitty.core.status.lanes import Lane
    from spec_kitty.repo.jsonio import write_json
    from spec_kitty.repo.missions import META_FILE
    from spec_kitty.repo.status import event_log
    from spec_kitty.services.status import events_factory
    from spec_kitty.services.status.transitions import record

    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        by_id = {row["event_id"]: row for row in parsed.transitions}
        states = event_log.snapshot_of(mission, parsed)["work_packages"]
        ours = sorted(
            wp for wp, s in states.items() if s["lane"] == Lane.DONE.value
            and ((by_id.get(s["last_event_id"]) or {}).get("policy_metadata") or {}).get(
                "merge_commit") == state.new_target and state.new_target)
        stamps = events_factory.stamps_after(parsed, len(ours))
        rows = [events_factory.transition_row(
            mission, wp_id=wp, from_lane=Lane.DONE, to_lane=Lane.APPROVED, at=at,
            actor="spec-kitty-merge", force=True,
            reason=f"merge of {mission.slug} into {state.target_branch} was aborted")
            for wp, at in zip(ours, stamps, strict=False)]
        meta = dict(mission.meta)
        extra: tuple[Path, ...] = ()
        ours_meta = meta.get("merge_commit") == state.new_target or (
            not state.created_commit and "merge_commit" not in meta)
        if state.new_target and ours_meta and "merged_at" in meta:
            for key in ("merged_at", "merged_into", "merge_commit", "merge_strategy"):
                meta.pop(key, None)
            write_json(mission.path / META_FILE, meta)
            extra = (mission.path / META_FILE,)
        if rows or extra:
            record(project, mission, rows, extra_paths=extra,
                   message=f"chore({mission.slug}): reopen work packages after an aborted "
                   "merge")
    return ours
