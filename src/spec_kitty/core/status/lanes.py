"""Work-package status lanes: vocabulary, allowed edges and transition guards.

Pure functions over plain values. ``validate_transition`` returns the list of
reasons a move is refused (empty when it is allowed) instead of raising, so the
CLI can show every problem at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from spec_kitty.core.errors import SpecKittyError


class Lane(StrEnum):
    GENESIS = "genesis"  # created, not finalized: only ever a source lane
    PLANNED = "planned"
    CLAIMED = "claimed"
    IN_PROGRESS = "in_progress"
    FOR_REVIEW = "for_review"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    DONE = "done"
    BLOCKED = "blocked"
    CANCELED = "canceled"
    UNINITIALIZED = "uninitialized"  # read-side sentinel: no transitions yet


# The main path, used for progress ordering and for expanding forward jumps.
FORWARD_ORDER: tuple[Lane, ...] = (
    Lane.PLANNED,
    Lane.CLAIMED,
    Lane.IN_PROGRESS,
    Lane.FOR_REVIEW,
    Lane.IN_REVIEW,
    Lane.APPROVED,
    Lane.DONE,
)
# Boards show the main path, then the lanes off it.
DISPLAY_LANES: tuple[Lane, ...] = (*FORWARD_ORDER, Lane.BLOCKED, Lane.CANCELED)
DISPLAY_LANE_VALUES: tuple[str, ...] = tuple(lane.value for lane in DISPLAY_LANES)
TERMINAL_LANES = frozenset({Lane.DONE, Lane.CANCELED})
LANE_ALIASES: Mapping[str, Lane] = {"doing": Lane.IN_PROGRESS}
_BY_VALUE: Mapping[str, Lane] = {lane.value: lane for lane in Lane}


ALLOWED_EDGES: Mapping[Lane, frozenset[Lane]] = {
    Lane.GENESIS: frozenset({Lane.PLANNED, Lane.CANCELED}),
    Lane.PLANNED: frozenset({Lane.CLAIMED, Lane.BLOCKED, Lane.CANCELED}),
    Lane.CLAIMED: frozenset({Lane.IN_PROGRESS, Lane.BLOCKED, Lane.CANCELED}),
    Lane.IN_PROGRESS: frozenset(
        {Lane.FOR_REVIEW, Lane.APPROVED, Lane.PLANNED, Lane.BLOCKED, Lane.CANCELED}
    ),
    Lane.FOR_REVIEW: frozenset({Lane.IN_REVIEW, Lane.BLOCKED, Lane.CANCELED}),
    Lane.IN_REVIEW: frozenset(
        {Lane.APPROVED, Lane.DONE, Lane.IN_PROGRESS, Lane.PLANNED, Lane.BLOCKED, Lane.CANCELED}
    ),
    Lane.APPROVED: frozenset(
        {Lane.DONE, Lane.IN_PROGRESS, Lane.PLANNED, Lane.BLOCKED, Lane.CANCELED}
    ),
    Lane.BLOCKED: frozenset({Lane.IN_PROGRESS, Lane.CANCELED}),
    Lane.DONE: frozenset(),
    Lane.CANCELED: frozenset(),
    Lane.UNINITIALIZED: frozenset(),
}


class UnknownLane(SpecKittyError):
    def __init__(self, value: object) -> None:
        valid = ", ".join(lane.value for lane in Lane if lane is not Lane.UNINITIALIZED)
        super().__init__(
            f"Unknown lane {value!r}. Valid lanes: {valid} (alias: doing).",
            "UNKNOWN_LANE",
            details={"lane": str(value)},
        )


def parse_lane(value: object) -> Lane:
    """Map a lane string (any case, surrounding spaces, the ``doing`` alias) to a Lane."""
    if isinstance(value, Lane):
        return value
    if not isinstance(value, str):
        raise UnknownLane(value)
    key = value.strip().lower()
    lane = _BY_VALUE.get(key) or LANE_ALIASES.get(key)
    if lane is None:
        raise UnknownLane(value)
    return lane


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def actor_present(actor: object) -> bool:
    """A usable actor: a non-blank string, or a dict actor naming at least one thing."""
    if isinstance(actor, Mapping):
        return any(_text(v) for v in actor.values())
    return bool(_text(actor))


@dataclass(frozen=True)
class TransitionContext:
    """Everything the guards may look at for one proposed move."""

    actor: Any = None
    force: bool = False
    reason: str | None = None
    workspace_context: str | None = None
    subtasks_complete: bool = False
    open_subtasks: tuple[str, ...] = ()  # which ones are not done, to name them
    implementation_evidence_present: bool = False
    evidence: Mapping[str, Any] | None = None
    review_ref: str | None = None
    review_result: Mapping[str, Any] | None = None


def _review_approval(evidence: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    review = evidence.get("review") if isinstance(evidence, Mapping) else None
    return review if isinstance(review, Mapping) else None


def _approval_problems(ctx: TransitionContext) -> list[str]:
    review = _review_approval(ctx.evidence)
    if review is not None:
        problems = [
            f"evidence.review.{key} must be a non-empty string"
            for key in ("reviewer", "reference")
            if not _text(review.get(key))
        ]
        if review.get("verdict") != "approved":
            problems.append('evidence.review.verdict must be "approved"')
        return problems
    result = ctx.review_result
    if isinstance(result, Mapping) and result.get("verdict") == "approved":
        return []
    return ["needs review evidence: evidence.review {reviewer, verdict: approved, reference}"]


def _review_result_problems(ctx: TransitionContext, to_lane: Lane) -> list[str]:
    result = ctx.review_result
    if not isinstance(result, Mapping):
        return ["leaving in_review needs a review_result {reviewer, verdict, reference}"]
    problems = [
        f"review_result.{key} must be a non-empty string"
        for key in ("reviewer", "verdict", "reference")
        if not _text(result.get(key))
    ]
    if ctx.review_ref is not None and ctx.review_ref != result.get("reference"):
        problems.append("review_ref must equal review_result.reference")
    review = _review_approval(ctx.evidence)
    if review is not None and any(
        review.get(key) != result.get(key) for key in ("reviewer", "verdict", "reference")
    ):
        problems.append("evidence.review must match review_result")
    if to_lane in (Lane.APPROVED, Lane.DONE) and not problems:
        problems += _approval_problems(ctx)
    return problems


def _open_subtasks_problem(open_ids: tuple[str, ...]) -> str:
    if not open_ids:
        return "subtasks are not all done"
    ids = " ".join(open_ids)
    return (f"subtasks are not all done: {', '.join(open_ids)} (record them with "
            f"`spec-kitty agent tasks mark-status {ids} --status done`)")


def _guard_problems(from_lane: Lane, to_lane: Lane, ctx: TransitionContext) -> list[str]:
    if from_lane is Lane.IN_REVIEW:
        return _review_result_problems(ctx, to_lane)
    edge = (from_lane, to_lane)
    if edge in ((Lane.PLANNED, Lane.CLAIMED), (Lane.FOR_REVIEW, Lane.IN_REVIEW)):
        return [] if actor_present(ctx.actor) else ["needs an actor"]
    if edge == (Lane.CLAIMED, Lane.IN_PROGRESS):
        return [] if _text(ctx.workspace_context) else ["needs a workspace context"]
    if edge == (Lane.IN_PROGRESS, Lane.FOR_REVIEW):
        problems = []
        if not ctx.subtasks_complete:
            problems.append(_open_subtasks_problem(ctx.open_subtasks))
        if not ctx.implementation_evidence_present:
            problems.append("no implementation evidence (the WP was never worked on)")
        return problems
    if edge in ((Lane.IN_PROGRESS, Lane.APPROVED), (Lane.APPROVED, Lane.DONE)):
        return _approval_problems(ctx)
    if edge == (Lane.IN_PROGRESS, Lane.PLANNED):
        return [] if _text(ctx.reason) else ["needs a reason"]
    if edge in ((Lane.APPROVED, Lane.IN_PROGRESS), (Lane.APPROVED, Lane.PLANNED)):
        return [] if _text(ctx.review_ref) else ["needs a review_ref (the review that reopened it)"]
    return []


def validate_transition(from_lane: Lane, to_lane: Lane, ctx: TransitionContext) -> list[str]:
    """Reasons the move ``from_lane → to_lane`` is refused; empty means allowed."""
    if to_lane is Lane.GENESIS:
        return ["genesis can never be a target lane"]
    if to_lane is Lane.UNINITIALIZED:
        return ["uninitialized is a read-only marker, not a lane to move to"]
    if from_lane is Lane.UNINITIALIZED:
        return ["the work package has no status events yet; run finalize-tasks first"]
    if ctx.force:
        problems = []
        if not actor_present(ctx.actor):
            problems.append("a forced move needs an actor")
        if not _text(ctx.reason):
            problems.append("a forced move needs a reason")
        return problems
    if to_lane not in ALLOWED_EDGES[from_lane]:
        allowed = ", ".join(sorted(lane.value for lane in ALLOWED_EDGES[from_lane])) or "none"
        return [f"{from_lane.value} → {to_lane.value} is not allowed (allowed: {allowed})"]
    return _guard_problems(from_lane, to_lane, ctx)
