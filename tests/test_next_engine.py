"""The next decision engine over a table of situations."""

from __future__ import annotations

import itertools

import pytest

from spec_kitty.core.next_step import MissionFacts, WPView, decide

PLANNED_OK = dict(spec_present=True, spec_substantive=True, spec_committed=True,
                  plan_present=True, plan_substantive=True, plan_committed=True,
                  tasks_present=True, wp_file_count=4, finalized=True)


def board(*lanes: str, deps: dict[str, tuple[str, ...]] | None = None,
          holders: dict[str, str] | None = None, accepted: bool = False) -> MissionFacts:
    deps = deps or {"WP03": ("WP01", "WP02")}
    holders = holders or {}
    wps = tuple(WPView(f"WP0{i + 1}", lane, deps.get(f"WP0{i + 1}", ()),
                       holders.get(f"WP0{i + 1}")) for i, lane in enumerate(lanes))
    return MissionFacts(**PLANNED_OK, accepted=accepted, wps=wps)


PLANNING = [
    (MissionFacts(), "step", "specify", None),
    (MissionFacts(spec_present=True), "step", "specify", None),
    (MissionFacts(spec_present=True, spec_substantive=True), "step", "specify", None),
    (MissionFacts(spec_present=True, spec_substantive=True, spec_committed=True), "step",
     "plan", None),
    (MissionFacts(spec_present=True, spec_substantive=True, spec_committed=True,
                  plan_present=True), "step", "plan", None),
    (MissionFacts(spec_present=True, spec_substantive=True, spec_committed=True,
                  plan_present=True, plan_substantive=True), "step", "plan", None),
    (MissionFacts(**{**PLANNED_OK, "finalized": False, "tasks_present": False}), "step",
     "tasks", None),
    (MissionFacts(**{**PLANNED_OK, "finalized": False}), "step", "tasks", None),
]

BOARD = [
    (board("planned", "planned", "planned", "planned"), "step", "implement", "WP01"),
    (board("in_progress", "planned", "planned", "planned", holders={"WP01": "codex"}),
     "step", "implement", "WP02"),
    (board("in_progress", "in_progress", "planned", "planned",
           holders={"WP01": "codex", "WP02": "claude"}), "step", "implement", "WP02"),
    (board("approved", "for_review", "planned", "done"), "step", "review", "WP02"),
    (board("approved", "approved", "planned", "done"), "step", "implement", "WP03"),
    (board("done", "approved", "planned", "done"), "step", "implement", "WP03"),
    (board("approved", "in_review", "planned", "done", holders={"WP02": "gemini"}),
     "blocked", None, None),
    (board("approved", "in_review", "planned", "done", holders={"WP02": "claude"}),
     "step", "review", "WP02"),
    (board("blocked", "approved", "planned", "canceled"), "blocked", None, None),
    (board("approved", "approved", "approved", "canceled"), "step", "accept", None),
    (board("approved", "approved", "approved", "done", accepted=True), "step", "merge", None),
    (board("done", "done", "done", "canceled", accepted=True), "terminal", None, None),
]


@pytest.mark.parametrize(("facts", "kind", "action", "wp"), PLANNING + BOARD)
def test_decision_table(facts: MissionFacts, kind: str, action: str | None,
                        wp: str | None) -> None:
    decision = decide(facts, "claude")
    assert (decision.kind, decision.action, decision.wp_id) == (kind, action, wp)
    if kind == "blocked":
        assert decision.guard_failures


def test_blocked_explains_each_outstanding_work_package() -> None:
    decision = decide(board("in_progress", "approved", "planned", "blocked",
                            holders={"WP01": "codex"}), "claude")
    assert decision.guard_failures == [
        "WP01 is being implemented by codex",
        "WP03 waits for WP01 (in_progress)",
        "WP04 is blocked",
    ]


LANES = ["planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done",
         "blocked", "canceled"]


@pytest.mark.parametrize("lanes", list(itertools.product(LANES, repeat=3)))
def test_never_offers_a_work_package_with_unmet_dependencies(lanes: tuple[str, ...]) -> None:
    facts = board(*lanes, deps={"WP02": ("WP01",), "WP03": ("WP01", "WP02")})
    decision = decide(facts, "claude")
    if decision.action == "implement" and decision.wp_id:
        chosen = next(wp for wp in facts.wps if wp.wp_id == decision.wp_id)
        by_id = {wp.wp_id: wp.lane for wp in facts.wps}
        if chosen.lane == "planned":
            assert all(by_id[d] in ("approved", "done") for d in chosen.dependencies)
