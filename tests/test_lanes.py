"""The lane state machine: every from x to pair, every guard, force rules."""

from __future__ import annotations

import itertools

import pytest

from spec_kitty.core.status.lanes import (
    ALLOWED_EDGES,
    DISPLAY_LANES,
    Lane,
    TransitionContext,
    UnknownLane,
    parse_lane,
    validate_transition,
)

EXPECTED_EDGES = {
    "genesis": {"planned", "canceled"},
    "planned": {"claimed", "blocked", "canceled"},
    "claimed": {"in_progress", "blocked", "canceled"},
    "in_progress": {"for_review", "approved", "planned", "blocked", "canceled"},
    "for_review": {"in_review", "blocked", "canceled"},
    "in_review": {"approved", "done", "in_progress", "planned", "blocked", "canceled"},
    "approved": {"done", "in_progress", "planned", "blocked", "canceled"},
    "blocked": {"in_progress", "canceled"},
    "done": set(),
    "canceled": set(),
    "uninitialized": set(),
}

APPROVAL = {"reviewer": "rev", "verdict": "approved", "reference": "PR#7"}
SATISFIED = TransitionContext(
    actor="agent-1",
    reason="because",
    workspace_context="worktree:/tmp/ws",
    subtasks_complete=True,
    implementation_evidence_present=True,
    evidence={"review": APPROVAL},
    review_ref="PR#7",
    review_result=APPROVAL,
)


def test_vocabulary() -> None:
    assert [lane.value for lane in DISPLAY_LANES] == [
        "planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done",
        "blocked", "canceled",
    ]
    assert parse_lane(" Doing ") is Lane.IN_PROGRESS
    assert parse_lane("IN_REVIEW") is Lane.IN_REVIEW
    for bad in ("awaiting-review", "", None, 3):
        with pytest.raises(UnknownLane):
            parse_lane(bad)


def test_edge_table_matches_reference() -> None:
    assert {k.value: {v.value for v in vs} for k, vs in ALLOWED_EDGES.items()} == EXPECTED_EDGES


@pytest.mark.parametrize(("source", "target"), list(itertools.product(Lane, Lane)))
def test_every_pair_without_force(source: Lane, target: Lane) -> None:
    problems = validate_transition(source, target, SATISFIED)
    allowed = target.value in EXPECTED_EDGES[source.value]
    assert (problems == []) == allowed, (source, target, problems)


@pytest.mark.parametrize(("source", "target"), list(itertools.product(Lane, Lane)))
def test_every_pair_with_force(source: Lane, target: Lane) -> None:
    forced = TransitionContext(actor="ops", force=True, reason="repair")
    problems = validate_transition(source, target, forced)
    if target in (Lane.GENESIS, Lane.UNINITIALIZED) or source is Lane.UNINITIALIZED:
        assert problems, (source, target)
    else:
        assert problems == [], (source, target, problems)


@pytest.mark.parametrize(("actor", "reason"), [(None, "r"), ("a", None), ("  ", "r"), ("a", " ")])
def test_force_needs_actor_and_reason(actor: str | None, reason: str | None) -> None:
    ctx = TransitionContext(actor=actor, force=True, reason=reason)
    assert validate_transition(Lane.DONE, Lane.PLANNED, ctx)


def test_force_can_leave_terminal_lanes_but_never_reach_genesis() -> None:
    ctx = TransitionContext(actor="a", force=True, reason="reopen")
    assert validate_transition(Lane.DONE, Lane.IN_PROGRESS, ctx) == []
    assert validate_transition(Lane.CANCELED, Lane.PLANNED, ctx) == []
    assert validate_transition(Lane.PLANNED, Lane.GENESIS, ctx)


def _without(**changes: object) -> TransitionContext:
    values = SATISFIED.__dict__ | changes
    return TransitionContext(**values)


@pytest.mark.parametrize(
    ("source", "target", "broken", "expect"),
    [
        (Lane.PLANNED, Lane.CLAIMED, {"actor": ""}, "actor"),
        (Lane.FOR_REVIEW, Lane.IN_REVIEW, {"actor": None}, "actor"),
        (Lane.CLAIMED, Lane.IN_PROGRESS, {"workspace_context": None}, "workspace"),
        (Lane.IN_PROGRESS, Lane.FOR_REVIEW, {"subtasks_complete": False}, "subtasks"),
        (Lane.IN_PROGRESS, Lane.FOR_REVIEW, {"implementation_evidence_present": False},
         "evidence"),
        (Lane.IN_PROGRESS, Lane.APPROVED, {"evidence": None, "review_result": None}, "review"),
        (Lane.APPROVED, Lane.DONE,
         {"evidence": {"review": {**APPROVAL, "verdict": "changes_requested"}}}, "approved"),
        (Lane.APPROVED, Lane.DONE, {"evidence": {"review": {**APPROVAL, "reviewer": ""}}},
         "reviewer"),
        (Lane.IN_PROGRESS, Lane.PLANNED, {"reason": None}, "reason"),
        (Lane.APPROVED, Lane.IN_PROGRESS, {"review_ref": ""}, "review_ref"),
        (Lane.APPROVED, Lane.PLANNED, {"review_ref": None}, "review_ref"),
        (Lane.IN_REVIEW, Lane.PLANNED, {"review_result": None}, "review_result"),
        (Lane.IN_REVIEW, Lane.BLOCKED, {"review_result": {**APPROVAL, "reference": ""}},
         "reference"),
        (Lane.IN_REVIEW, Lane.IN_PROGRESS, {"review_ref": "other"}, "review_ref must equal"),
        (Lane.IN_REVIEW, Lane.APPROVED,
         {"evidence": {"review": {**APPROVAL, "reviewer": "someone-else"}}}, "must match"),
    ],
)
def test_each_guard_refuses_when_its_input_is_missing(
    source: Lane, target: Lane, broken: dict, expect: str
) -> None:
    assert validate_transition(source, target, SATISFIED) == []
    problems = validate_transition(source, target, _without(**broken))
    assert problems and any(expect in p for p in problems), problems


def test_in_review_exit_accepts_approval_from_review_result_alone() -> None:
    ctx = _without(evidence=None)
    assert validate_transition(Lane.IN_REVIEW, Lane.APPROVED, ctx) == []
    rejected = _without(evidence=None, review_result={**APPROVAL, "verdict": "changes_requested"})
    assert validate_transition(Lane.IN_REVIEW, Lane.APPROVED, rejected)
    assert validate_transition(Lane.IN_REVIEW, Lane.IN_PROGRESS, rejected) == []


def test_dict_actor_counts_as_an_actor() -> None:
    ctx = _without(actor={"role": "implementer", "profile": None, "tool": "claude",
                          "model": None})
    assert validate_transition(Lane.PLANNED, Lane.CLAIMED, ctx) == []
    empty = _without(actor={"role": None, "profile": None, "tool": "", "model": None})
    assert validate_transition(Lane.PLANNED, Lane.CLAIMED, empty)
