"""The ``next`` decision engine: given what exists, what should this agent do now?

Pure: it looks only at the facts it is handed (which documents exist and pass their
gates, the board, the dependency graph) and never at the clock, disks or git.
Planning gates come first (specify → plan → tasks); once the work packages are
finalized the board decides (implement → review → accept → merge → done). A work
package is only ever offered for implementation when every dependency is approved
or done. A review of the agent's own work is only offered when nobody else's work
waits, is flagged as a self-review, and is never offered when the project forbids it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spec_kitty.core.ids import agent_matches

SATISFIED = frozenset({"approved", "done"})
FINISHED = frozenset({"approved", "done", "canceled"})
WORKING = frozenset({"claimed", "in_progress"})


@dataclass(frozen=True)
class WPView:
    wp_id: str
    lane: str
    dependencies: tuple[str, ...] = ()
    holder: str | None = None  # who claimed it / is reviewing it
    implementer: str | None = None  # the agent of its latest claim


@dataclass(frozen=True)
class MissionFacts:
    spec_present: bool = False
    spec_substantive: bool = False
    spec_committed: bool = False
    plan_present: bool = False
    plan_substantive: bool = False
    plan_committed: bool = False
    tasks_present: bool = False
    wp_file_count: int = 0
    finalized: bool = False
    accepted: bool = False
    wps: tuple[WPView, ...] = ()
    allow_self_review: bool = True


@dataclass
class Decision:
    kind: str  # "step" | "blocked" | "terminal"
    mission_state: str
    action: str | None = None
    wp_id: str | None = None
    reason: str = ""
    guard_failures: list[str] = field(default_factory=list)
    self_review: bool = False


def _planning_decision(facts: MissionFacts) -> Decision | None:
    if not facts.spec_present or not facts.spec_substantive:
        return Decision("step", "specify", "specify",
                        reason="spec.md needs at least one real functional requirement")
    if not facts.spec_committed:
        return Decision("step", "specify", "specify", reason="spec.md is not committed yet")
    if not (facts.plan_present and facts.plan_substantive and facts.plan_committed):
        missing = ("plan.md does not exist" if not facts.plan_present else
                   "plan.md's Technical Context is not filled in" if not facts.plan_substantive
                   else "plan.md is not committed yet")
        return Decision("step", "plan", "plan", reason=missing)
    if not facts.finalized:
        missing = ("tasks.md does not exist" if not facts.tasks_present else
                   "no work-package files" if not facts.wp_file_count else
                   "work packages are not finalized")
        return Decision("step", "tasks", "tasks", reason=missing)
    return None


def unmet_dependencies(wp: WPView, lanes: dict[str, str]) -> list[str]:
    return [dep for dep in wp.dependencies if lanes.get(dep) not in SATISFIED]


def _waiting_reasons(wps: tuple[WPView, ...], lanes: dict[str, str], agent: str) -> list[str]:
    reasons = []
    for wp in wps:
        if wp.lane in FINISHED:
            continue
        if wp.lane == "for_review" and agent_matches(wp.implementer, agent):
            reasons.append(f"{wp.wp_id} awaits review by another agent (you implemented it "
                           "and this project forbids self-review)")
            continue
        if wp.lane == "planned":
            unmet = unmet_dependencies(wp, lanes)
            waits = ", ".join(f"{d} ({lanes.get(d, 'unknown')})" for d in unmet)
            reasons.append(f"{wp.wp_id} waits for {waits}")
        elif wp.lane in WORKING or wp.lane == "in_review":
            verb = "is being reviewed" if wp.lane == "in_review" else "is being implemented"
            reasons.append(f"{wp.wp_id} {verb} by {wp.holder or 'another agent'}")
        elif wp.lane == "blocked":
            reasons.append(f"{wp.wp_id} is blocked")
        else:
            reasons.append(f"{wp.wp_id} is {wp.lane}")
    return reasons


def next_to_implement(wps: tuple[WPView, ...], agent: str) -> tuple[WPView, str] | None:
    """The agent's own unfinished work first, then the first planned WP that is ready."""
    lanes = {wp.wp_id: wp.lane for wp in wps}
    for wp in wps:
        if wp.lane in WORKING and agent_matches(wp.holder, agent):
            return wp, f"{wp.wp_id} is already yours ({wp.lane})"
    for wp in wps:
        if wp.lane == "planned" and not unmet_dependencies(wp, lanes):
            return wp, f"{wp.wp_id} is planned and its dependencies are met"
    return None


def next_to_review(wps: tuple[WPView, ...], agent: str,
                   allow_self: bool = True) -> tuple[WPView, bool] | None:
    """(work package, is it a self-review) for this agent to review, or None.

    A review the agent already holds comes first, then work others implemented, and
    only then (when allowed) the agent's own work. Agents match by tool, so a recorded
    ``claude:opus:<profile>:implementer`` is ``claude``.
    """
    mine = [wp for wp in wps if wp.lane == "in_review" and agent_matches(wp.holder, agent)]
    if mine:
        return mine[0], agent_matches(mine[0].implementer, agent)
    waiting = [wp for wp in wps if wp.lane == "for_review"]
    others = [wp for wp in waiting if not agent_matches(wp.implementer, agent)]
    if others:
        return others[0], False
    own = [wp for wp in waiting if agent_matches(wp.implementer, agent)]
    return (own[0], True) if own and allow_self else None


def decide(facts: MissionFacts, agent: str) -> Decision:
    planning = _planning_decision(facts)
    if planning is not None:
        return planning
    lanes = {wp.wp_id: wp.lane for wp in facts.wps}
    implement = next_to_implement(facts.wps, agent)
    if implement is not None:
        wp, reason = implement
        return Decision("step", "implement", "implement", wp.wp_id, reason=reason)
    review = next_to_review(facts.wps, agent, facts.allow_self_review)
    if review is not None:
        wp, own = review
        reason = f"{wp.wp_id} awaits review"
        if own:
            reason += (f"; you implemented {wp.wp_id} yourself, so this is a self-review "
                       "(set review.allow_self_review: false to forbid it)")
        return Decision("step", "review", "review", wp.wp_id, reason=reason, self_review=own)
    if facts.wps and all(wp.lane in FINISHED for wp in facts.wps):
        if all(wp.lane in ("done", "canceled") for wp in facts.wps):
            return Decision("terminal", "done", reason="every work package is done")
        if not facts.accepted:
            return Decision("step", "accept", "accept", reason="every work package is approved")
        return Decision("step", "merge", "merge", reason="the mission is accepted")
    return Decision("blocked", "implement", reason="no work package is actionable right now",
                    guard_failures=_waiting_reasons(facts.wps, lanes, agent))
