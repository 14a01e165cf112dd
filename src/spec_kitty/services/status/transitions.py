"""The one status write path, ``agent tasks move-task`` and subtask marks.

Every status write in the CLI goes through :func:`record`, under the mission's status
lock: the caller reads the log and plans its rows, :func:`record` appends them
(``repo.status.event_log``, in place), rematerializes status.json and then commits the
mission's status files (``services.status_commit``), so ordinary git use in the main
checkout cannot lose a recorded event.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.core import ids
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.status.lanes import (
    ALLOWED_EDGES,
    FORWARD_ORDER,
    Lane,
    TransitionContext,
    parse_lane,
    validate_transition,
)
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.repo.work_packages import WorkPackage, WorkPackageUnreadable, load_work_packages
from spec_kitty.services.status import events_factory, status_health, status_observers
from spec_kitty.services.status.status_commit import (
    StatusCommit,
    commit_message,
    commit_status,
    status_files_pending,
)


class TransitionRefused(SpecKittyError):
    def __init__(self, wp_id: str, from_lane: str, to_lane: str, problems: list[str]) -> None:
        super().__init__(
            f"Cannot move {wp_id} from {from_lane} to {to_lane}: " + "; ".join(problems),
            "TRANSITION_REFUSED",
            details={"wp_id": wp_id, "from_lane": from_lane, "to_lane": to_lane,
                     "guard_failures": problems},
            hint="Fix what is listed, or use --force with --reason (and --actor) "
            "to override the state machine.",
        )


class WorkPackageNotFound(SpecKittyError):
    def __init__(self, wp_id: str, mission: Mission, known: list[str]) -> None:
        super().__init__(
            f"{wp_id} is not a work package of {mission.slug} "
            f"(known: {', '.join(known) or 'none'}).",
            "WP_NOT_FOUND",
            details={"wp_id": wp_id, "known": known},
        )


# The one normaliser lives in core.ids; kept importable here for existing callers.
normalize_wp_id = ids.normalize_wp_id


@dataclass
class Recorded:
    """The snapshot after a write, and what auto-commit did with it."""

    snapshot: dict[str, Any]
    commit: StatusCommit


def record(project: ProjectPaths, mission: Mission, rows: list[dict[str, Any]], *,
           extra_paths: tuple[Path, ...] = (), message: str | None = None,
           required_commit: bool = False) -> Recorded:
    """Append ``rows``, rematerialize status.json, commit the status files.

    The caller must hold :func:`event_log.status_lock` and must have planned ``rows``
    from a log it read under that same lock. ``extra_paths`` (stored review feedback,
    meta.json) are committed along with the status files. ``required_commit`` makes
    the commit part of the command (merge and accept bookkeeping): it is made even
    with auto-commit off, and a failure raises.
    """
    if rows:
        event_log.append_rows(mission, rows, project)  # folds them into the cached fold
        status_observers.notify(project.root, mission.slug, rows)
    snapshot, _ = event_log.materialize(project, mission)
    if not rows and not extra_paths and not required_commit:
        if not status_files_pending(project, mission):
            return Recorded(snapshot, StatusCommit(False, reason="nothing was recorded"))
        # An earlier command was killed before its commit: finish it now.
        message = message or (f"status({mission.slug}): events recorded by an "
                              "interrupted command")
    commit = commit_status(project, mission, message or commit_message(mission, rows),
                           extra_paths, required=required_commit)
    return Recorded(snapshot, commit)


class UncommittedWork(SpecKittyError):
    def __init__(self, wp_id: str, where: Path, files: list[str]) -> None:
        shown = ", ".join(files[:10]) + (" ..." if len(files) > 10 else "")
        super().__init__(
            f"{wp_id} has uncommitted changes to its own files in {where}: {shown}. "
            "A reviewer (and merge) only ever sees committed work.",
            "UNCOMMITTED_CHANGES",
            details={"wp_id": wp_id, "worktree": str(where), "files": files},
            hint=f"Commit them in {where} (git add … && git commit), or pass --force "
            "--reason to hand over without them.")


@dataclass
class MoveRequest:
    wp_id: str
    to_lane: str
    actor: Any
    force: bool = False
    reason: str | None = None
    note: str | None = None
    review_ref: str | None = None
    evidence: dict[str, Any] | None = None
    review_result: dict[str, Any] | None = None
    feedback_file: str | None = None
    workspace_context: str | None = None
    execution_mode: str | None = None
    policy_metadata: dict[str, Any] | None = None


def _find_wp(mission: Mission, wps: list[WorkPackage], snapshot: dict[str, Any],
             wp_id: str) -> WorkPackage | None:
    known = {wp.wp_id for wp in wps} | set(snapshot["work_packages"])
    if wp_id not in known:
        raise WorkPackageNotFound(wp_id, mission, sorted(known))
    return next((wp for wp in wps if wp.wp_id == wp_id), None)


def _hops(current: Lane, target: Lane, force: bool) -> list[tuple[Lane, Lane]]:
    """A forward jump along the main path becomes one hop per intermediate lane."""
    if force or target in ALLOWED_EDGES.get(current, frozenset()):
        return [(current, target)]
    if current in FORWARD_ORDER and target in FORWARD_ORDER:
        start, end = FORWARD_ORDER.index(current), FORWARD_ORDER.index(target)
        if end > start + 1:
            path = FORWARD_ORDER[start : end + 1]
            return list(zip(path, path[1:], strict=False))
    return [(current, target)]


def _open_subtasks(wp: WorkPackage | None, state: dict[str, Any]) -> tuple[str, ...]:
    """The work package's subtasks not marked done, in its own order."""
    marks = state.get("subtasks") or {}
    roster = wp.subtasks if wp is not None else list(marks)
    return tuple(task for task in roster if marks.get(task) != "done")


def _review_result(req: MoveRequest, feedback_rel: str | None) -> dict[str, Any] | None:
    if req.review_result is not None:
        result = dict(req.review_result)
        if feedback_rel:
            result.setdefault("feedback_path", feedback_rel)
        return result
    review = (req.evidence or {}).get("review") if isinstance(req.evidence, dict) else None
    if isinstance(review, dict):
        return {k: review.get(k) for k in ("reviewer", "verdict", "reference")}
    if feedback_rel:
        reviewer = req.actor if isinstance(req.actor, str) else str(req.actor)
        return {
            "reviewer": reviewer,
            "verdict": "changes_requested",
            "reference": req.review_ref or f"feedback:{feedback_rel}",
            "feedback_path": feedback_rel,
        }
    return None


def _feedback_reason(text: str) -> str:
    """The first line of the feedback, as the rejection's reason on the timeline."""
    first = next((line.strip(" #*-") for line in text.splitlines() if line.strip(" #*-")), "")
    return "changes requested: " + (first[:157] + "…" if len(first) > 160 else first)


def _uncommitted_owned(project: ProjectPaths, mission: Mission,
                       wp: WorkPackage) -> tuple[Path, list[str]] | None:
    """The WP's worktree and its uncommitted changes to files the WP owns, if any."""
    from spec_kitty.core.ownership import matches
    from spec_kitty.git import worktrees
    from spec_kitty.repo.lanes_file import lane_for_wp, read_lanes
    from spec_kitty.services.execution import workspaces

    try:
        lane = lane_for_wp(read_lanes(mission), wp.wp_id)
    except SpecKittyError:
        return None
    if lane is None or lane["lane_id"] == workspaces.PLANNING_LANE:
        where = project.root
    else:
        where = workspaces.lane_path(project, mission, lane["lane_id"])
    if not (where / ".git").exists():
        return None
    dirty = worktrees.dirty_paths(where)
    owned = [p for p in dirty if any(matches(glob, p) for glob in wp.owned_files)]
    return (where, owned) if owned else None


def _execution_mode(req: MoveRequest, wp: WorkPackage | None) -> str:
    if req.execution_mode:
        return req.execution_mode
    planning = wp is not None and wp.execution_mode == "planning_artifact"
    return "direct_repo" if planning else "worktree"


def _plan_rows(project: ProjectPaths, mission: Mission, parsed: events_factory.StampedLog,
               snapshot: dict[str, Any], wp: WorkPackage | None, wp_id: str,
               req: MoveRequest, feedback_rel: str | None = None
               ) -> tuple[Lane, list[dict[str, Any]]]:
    state = snapshot["work_packages"].get(wp_id, {})
    current = parse_lane(state.get("lane", Lane.UNINITIALIZED.value))
    target = parse_lane(req.to_lane)
    if current is target and not req.force:
        return current, []
    mode = _execution_mode(req, wp)
    review_result = _review_result(req, feedback_rel)
    hops = _hops(current, target, req.force)
    if wp is not None and wp.problem is not None and not req.force and \
            any(dest is Lane.FOR_REVIEW for _, dest in hops):
        # Fail closed: the hand-over checks read the file's subtasks and owned files.
        raise WorkPackageUnreadable(mission, wp)
    problems: list[str] = []
    open_subtasks = _open_subtasks(wp, state)
    for source, dest in hops:
        ctx = TransitionContext(
            actor=req.actor,
            force=req.force,
            reason=req.reason,
            workspace_context=req.workspace_context or f"{mode}:{project.root}",
            subtasks_complete=not open_subtasks,
            open_subtasks=open_subtasks,
            implementation_evidence_present=True,
            evidence=req.evidence,
            review_ref=req.review_ref,
            review_result=review_result,
        )
        problems += [f"{source.value}→{dest.value}: {p}" if len(hops) > 1 else p
                     for p in validate_transition(source, dest, ctx)]
    if problems:
        raise TransitionRefused(wp_id, current.value, target.value, problems)
    stamps = events_factory.stamps_after(parsed, len(hops) + (1 if req.note else 0))
    claim = req.policy_metadata
    if claim is None and isinstance(req.actor, str):
        # A hand-made claim names its claimant: without it the reducer keeps the claimant
        # of an earlier cycle (before a review sent the WP back) as the holder.
        claim = {"agent": req.actor}
    rows = []
    for (source, dest), at in zip(hops, stamps, strict=False):
        rows.append(events_factory.transition_row(
            mission, wp_id=wp_id, from_lane=source, to_lane=dest, at=at, actor=req.actor,
            force=req.force, execution_mode=mode, reason=req.reason, review_ref=req.review_ref,
            evidence=req.evidence if dest in (Lane.APPROVED, Lane.DONE, target) else None,
            review_result=review_result if source is Lane.IN_REVIEW or (
                feedback_rel and dest is target) else None,
            policy_metadata=None if source is not Lane.PLANNED
            else claim if dest is Lane.CLAIMED else req.policy_metadata,
        ))
    if req.note:
        rows.append(events_factory.annotation_row(
            wp_id=wp_id, at=stamps[-1], actor=req.actor, delta={"note": req.note}))
    return current, rows


def move_task(project: ProjectPaths, mission: Mission, req: MoveRequest) -> dict[str, Any]:
    """Move one work package (one event per hop), store review feedback, commit.

    Raises :class:`TransitionRefused` (state machine), :class:`UncommittedWork` (a hand
    over to review with uncommitted owned files), ``FEEDBACK_FILE_*`` errors, and
    :class:`WorkPackageUnreadable` for a hand-over to review (not forced) of a WP whose file
    cannot be read.
    """
    from spec_kitty.core.timestamps import utc_now_iso
    from spec_kitty.services.status import reviews

    wp_id = normalize_wp_id(req.wp_id)
    target = parse_lane(req.to_lane)  # reject an unknown lane before taking the lock
    status_health.ensure_log_present(project, mission)
    wps = load_work_packages(project, mission)
    wp = next((w for w in wps if w.wp_id == wp_id), None)
    if target is Lane.FOR_REVIEW and not req.force and wp is not None:
        leftover = _uncommitted_owned(project, mission, wp)
        if leftover is not None:
            raise UncommittedWork(wp_id, *leftover)
    with event_log.status_lock(project, mission):
        parsed = event_log.current_state(project, mission)  # the cached fold: no re-read
        snapshot = parsed.snapshot
        wp = _find_wp(mission, wps, snapshot, wp_id)
        feedback_rel: str | None = None
        extra: tuple[Path, ...] = ()
        if req.feedback_file:
            current = snapshot["work_packages"].get(wp_id, {}).get("lane")
            if current == target.value and not req.force:
                raise SpecKittyError(f"{wp_id} is already {current}; no feedback was stored.",
                                     "FEEDBACK_WITHOUT_MOVE")
            feedback_rel, text = reviews.store_feedback(
                project, mission, wp_id, Path(req.feedback_file), str(req.actor),
                utc_now_iso())
            extra = (project.root / feedback_rel,)
            req.reason = req.reason or _feedback_reason(text)
            req.review_ref = (req.review_ref or (req.review_result or {}).get("reference")
                              or f"feedback:{feedback_rel}")
        try:
            old_lane, rows = _plan_rows(project, mission, parsed, snapshot, wp, wp_id, req,
                                        feedback_rel)
        except SpecKittyError:
            for path in extra:
                path.unlink(missing_ok=True)  # refused: keep no orphaned feedback
            raise
        recorded = record(project, mission, rows, extra_paths=extra)
    snapshot = recorded.snapshot
    new_lane = snapshot["work_packages"].get(wp_id, {}).get("lane", old_lane.value)
    return {
        "result": "success",
        "mission_slug": mission.slug,
        "wp_id": wp_id,
        "old_lane": old_lane.value,
        "new_lane": new_lane,
        "transition_applied": any("to_lane" in r for r in rows),
        "forced": req.force,
        "event_ids": [r["event_id"] for r in rows],
        "status_events_path": str(mission.events_file),
        "status_path": str(mission.snapshot_file),
        "feedback_path": feedback_rel,
        "status_commit": recorded.commit.to_json(),
    }


def mark_subtasks(project: ProjectPaths, mission: Mission, task_ids: list[str], status: str,
                  actor: Any, wp_hint: str | None = None) -> dict[str, Any]:
    """Record subtask status as annotations on the WPs whose roster lists them."""
    status_health.ensure_log_present(project, mission)
    wps = load_work_packages(project, mission)
    owner: dict[str, str] = {}
    for wp in wps:
        for task in wp.subtasks:
            owner.setdefault(task, wp.wp_id)
    wp_fixed = normalize_wp_id(wp_hint) if wp_hint else None
    missing = [t for t in task_ids if wp_fixed is None and t not in owner]
    broken = next((wp for wp in wps if wp.problem is not None), None)
    if missing and broken is not None:
        raise WorkPackageUnreadable(mission, broken)  # its subtasks are unknown, not none
    if missing:
        raise SpecKittyError(
            f"Subtask(s) {', '.join(missing)} are not listed in any WP's `subtasks`; "
            "pass --wp to say which work package they belong to.",
            "SUBTASK_NOT_FOUND", details={"unknown": missing})
    by_wp: dict[str, dict[str, str]] = {}
    for task in task_ids:
        by_wp.setdefault(wp_fixed or owner[task], {})[task] = status
    with event_log.status_lock(project, mission):
        parsed = event_log.current_state(project, mission)
        stamps = events_factory.stamps_after(parsed, len(by_wp))
        rows = [events_factory.annotation_row(wp_id=wp_id, at=at, actor=actor,
                                              delta={"subtasks": marks})
                for (wp_id, marks), at in zip(sorted(by_wp.items()), stamps, strict=False)]
        recorded = record(project, mission, rows)
    return {"result": "success", "mission_slug": mission.slug, "status": status,
            "updated": {wp_id: sorted(marks) for wp_id, marks in sorted(by_wp.items())},
            "status_commit": recorded.commit.to_json()}
