"""Moving work packages between lanes (``agent tasks move-task``) and subtask marks.

Every write happens under the mission's status lock: read the log, check the move
against the state machine, append the new rows as one atomic batch, read the log
back and rematerialize status.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.core import ids
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.events import ParsedLog
from spec_kitty.core.lanes import (
    ALLOWED_EDGES,
    FORWARD_ORDER,
    Lane,
    TransitionContext,
    parse_lane,
    validate_transition,
)
from spec_kitty.repo import event_log
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages
from spec_kitty.services import events_factory


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


def _subtasks_complete(wp: WorkPackage | None, state: dict[str, Any]) -> bool:
    marks = state.get("subtasks") or {}
    roster = wp.subtasks if wp is not None else list(marks)
    return all(marks.get(task) == "done" for task in roster)


def _review_result(req: MoveRequest, project: ProjectPaths) -> dict[str, Any] | None:
    if req.review_result is not None:
        return req.review_result
    review = (req.evidence or {}).get("review") if isinstance(req.evidence, dict) else None
    if isinstance(review, dict):
        return {k: review.get(k) for k in ("reviewer", "verdict", "reference")}
    if req.feedback_file:
        path = Path(req.feedback_file)
        if not path.is_file():
            raise SpecKittyError(f"Review feedback file {path} does not exist.",
                                 "FEEDBACK_FILE_MISSING")
        try:
            rel = str(path.resolve().relative_to(project.root))
        except ValueError:
            rel = path.name
        reviewer = req.actor if isinstance(req.actor, str) else str(req.actor)
        return {
            "reviewer": reviewer,
            "verdict": "changes_requested",
            "reference": req.review_ref or f"feedback:{rel}",
            "feedback_path": rel,
        }
    return None


def _execution_mode(req: MoveRequest, wp: WorkPackage | None) -> str:
    if req.execution_mode:
        return req.execution_mode
    planning = wp is not None and wp.execution_mode == "planning_artifact"
    return "direct_repo" if planning else "worktree"


def _plan_rows(project: ProjectPaths, mission: Mission, parsed: ParsedLog,
               snapshot: dict[str, Any], wp: WorkPackage | None, wp_id: str,
               req: MoveRequest) -> tuple[Lane, list[dict[str, Any]]]:
    state = snapshot["work_packages"].get(wp_id, {})
    current = parse_lane(state.get("lane", Lane.UNINITIALIZED.value))
    target = parse_lane(req.to_lane)
    if current is target and not req.force:
        return current, []
    mode = _execution_mode(req, wp)
    review_result = _review_result(req, project)
    hops = _hops(current, target, req.force)
    problems: list[str] = []
    for source, dest in hops:
        ctx = TransitionContext(
            actor=req.actor,
            force=req.force,
            reason=req.reason,
            workspace_context=req.workspace_context or f"{mode}:{project.root}",
            subtasks_complete=_subtasks_complete(wp, state),
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
    rows = []
    for (source, dest), at in zip(hops, stamps, strict=False):
        rows.append(events_factory.transition_row(
            mission, wp_id=wp_id, from_lane=source, to_lane=dest, at=at, actor=req.actor,
            force=req.force, execution_mode=mode, reason=req.reason, review_ref=req.review_ref,
            evidence=req.evidence if dest in (Lane.APPROVED, Lane.DONE, target) else None,
            review_result=review_result if source is Lane.IN_REVIEW else None,
            policy_metadata=req.policy_metadata if source is Lane.PLANNED else None,
        ))
    if req.note:
        rows.append(events_factory.annotation_row(
            wp_id=wp_id, at=stamps[-1], actor=req.actor, delta={"note": req.note}))
    return current, rows


def move_task(project: ProjectPaths, mission: Mission, req: MoveRequest) -> dict[str, Any]:
    wp_id = normalize_wp_id(req.wp_id)
    parse_lane(req.to_lane)  # reject an unknown lane before taking the lock
    wps = load_work_packages(project, mission)
    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        snapshot = event_log.snapshot_of(mission, parsed)
        wp = _find_wp(mission, wps, snapshot, wp_id)
        old_lane, rows = _plan_rows(project, mission, parsed, snapshot, wp, wp_id, req)
        if rows:
            event_log.append_rows(mission, rows)
        snapshot, _ = event_log.materialize(project, mission)
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
    }


def mark_subtasks(project: ProjectPaths, mission: Mission, task_ids: list[str], status: str,
                  actor: Any, wp_hint: str | None = None) -> dict[str, Any]:
    """Record subtask status as annotations on the WPs whose roster lists them."""
    wps = load_work_packages(project, mission)
    owner: dict[str, str] = {}
    for wp in wps:
        for task in wp.subtasks:
            owner.setdefault(task, wp.wp_id)
    wp_fixed = normalize_wp_id(wp_hint) if wp_hint else None
    missing = [t for t in task_ids if wp_fixed is None and t not in owner]
    if missing:
        raise SpecKittyError(
            f"Subtask(s) {', '.join(missing)} are not listed in any WP's `subtasks`; "
            "pass --wp to say which work package they belong to.",
            "SUBTASK_NOT_FOUND", details={"unknown": missing})
    by_wp: dict[str, dict[str, str]] = {}
    for task in task_ids:
        by_wp.setdefault(wp_fixed or owner[task], {})[task] = status
    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        stamps = events_factory.stamps_after(parsed, len(by_wp))
        rows = [events_factory.annotation_row(wp_id=wp_id, at=at, actor=actor,
                                              delta={"subtasks": marks})
                for (wp_id, marks), at in zip(sorted(by_wp.items()), stamps, strict=False)]
        event_log.append_rows(mission, rows)
        event_log.materialize(project, mission)
    return {"result": "success", "mission_slug": mission.slug, "status": status,
            "updated": {wp_id: sorted(marks) for wp_id, marks in sorted(by_wp.items())}}
