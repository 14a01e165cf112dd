"""Claiming a work package for implementation or review, atomically and idempotently.

Both run under the mission's status lock. Implementation writes
``planned → claimed → in_progress`` as one batch; the same agent retrying is a
no-op, another agent gets a claim conflict. Review takes ``for_review → in_review``
for one reviewer at a time.
"""

from __future__ import annotations

import os
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.ids import agent_matches
from spec_kitty.core.status.lanes import Lane
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log

# Writing needs the event factory and the write path; reading who holds what (which
# `next` does on every call) does not, so those are imported where they are used.


class ClaimConflict(SpecKittyError):
    def __init__(self, wp_id: str, holder: str, lane: str) -> None:
        super().__init__(
            f"{wp_id} is already {lane} by {holder}.",
            "WORK_PACKAGE_CLAIM_CONFLICT",
            details={"wp_id": wp_id, "holder": holder, "lane": lane},
            hint="Pick another work package (spec-kitty next tells you which).",
        )


def holder_of(state: dict[str, Any]) -> str | None:
    """Who holds a work package now: the reviewer while it is in review, else the
    claiming agent (or, for a hand-made claim, the last actor)."""
    if state.get("lane") == Lane.IN_REVIEW.value:
        holder = state.get("actor")
    else:
        holder = state.get("agent") or state.get("actor")
    return str(holder) if holder else None


def implementer_of(state: dict[str, Any]) -> str | None:
    """Who implemented a work package: the agent of its latest claim, else (for a
    hand-made move to review) the actor that handed it over."""
    holder = state.get("agent")
    if not holder and state.get("lane") == Lane.FOR_REVIEW.value:
        holder = state.get("actor")
    return str(holder) if holder else None


class SelfReviewForbidden(SpecKittyError):
    def __init__(self, wp_id: str, agent: str) -> None:
        super().__init__(
            f"{agent} implemented {wp_id} and may not review it: this project forbids "
            "self-review (review.allow_self_review: false in .kittify/config.yaml).",
            "SELF_REVIEW_FORBIDDEN", details={"wp_id": wp_id, "agent": agent},
            hint="Another agent must take this review.")


def self_review_allowed(project: ProjectPaths) -> bool:
    from spec_kitty.services.status.status_commit import setting

    return setting(project, "review", "allow_self_review", True) is not False


def _not_startable(wp_id: str, lane: str, verb: str) -> SpecKittyError:
    if lane == Lane.UNINITIALIZED.value:
        return SpecKittyError(f"{wp_id} has not been finalized yet.", "WP_NOT_FINALIZED",
                              hint="Run `spec-kitty agent mission finalize-tasks`.")
    return SpecKittyError(f"{wp_id} is {lane}; it cannot be {verb} now.", "WP_WRONG_LANE",
                          details={"wp_id": wp_id, "lane": lane})


def check_implementable(state: dict[str, Any], wp_id: str, agent: str) -> str:
    """The WP's lane if ``agent`` may implement it; raises otherwise (no side effects)."""
    lane = state.get("lane", Lane.UNINITIALIZED.value)
    if lane in (Lane.CLAIMED.value, Lane.IN_PROGRESS.value):
        holder = holder_of(state)
        if not agent_matches(holder, agent):  # "claude:opus:p:implementer" is claude
            raise ClaimConflict(wp_id, holder or "another agent", lane)
    elif lane != Lane.PLANNED.value:
        raise _not_startable(wp_id, lane, "implemented")
    return lane


def start_implementation(project: ProjectPaths, mission: Mission, wp_id: str, agent: str,
                         execution_mode: str) -> list[str]:
    """Record the claim; returns the lanes written (empty for an idempotent retry)."""
    from spec_kitty.services.status import events_factory
    from spec_kitty.services.status.transitions import record

    with event_log.status_lock(project, mission):
        parsed = event_log.current_state(project, mission)
        state = parsed.snapshot["work_packages"].get(wp_id, {})
        lane = check_implementable(state, wp_id, agent)
        hops: list[tuple[Lane, Lane]] = []
        if lane == Lane.PLANNED.value:
            hops.append((Lane.PLANNED, Lane.CLAIMED))
        if lane in (Lane.PLANNED.value, Lane.CLAIMED.value):
            hops.append((Lane.CLAIMED, Lane.IN_PROGRESS))
        if not hops:
            record(project, mission, [])  # commits what a killed earlier claim left
            return []
        stamps = events_factory.stamps_after(parsed, len(hops))
        claim = {"agent": agent, "shell_pid": os.getppid()}
        rows = [events_factory.transition_row(
            mission, wp_id=wp_id, from_lane=source, to_lane=dest, at=at, actor=agent,
            execution_mode=execution_mode,
            policy_metadata=claim if dest is Lane.CLAIMED else None)
            for (source, dest), at in zip(hops, stamps, strict=False)]
        record(project, mission, rows)
    return [dest.value for _, dest in hops]


def start_review(project: ProjectPaths, mission: Mission, wp_id: str, agent: str) -> bool:
    """Move for_review → in_review; returns False when this agent already holds the review.

    Raises :class:`ClaimConflict` (someone else reviews it) and
    :class:`SelfReviewForbidden` (the project forbids reviewing your own work).
    """
    from spec_kitty.services.status import events_factory
    from spec_kitty.services.status.transitions import record

    allow_self = self_review_allowed(project)
    with event_log.status_lock(project, mission):
        parsed = event_log.current_state(project, mission)
        state = parsed.snapshot["work_packages"].get(wp_id, {})
        lane = state.get("lane", Lane.UNINITIALIZED.value)
        if lane == Lane.IN_REVIEW.value:
            holder = state.get("actor")
            if not agent_matches(holder, agent):
                raise ClaimConflict(wp_id, str(holder or "another reviewer"), "in_review")
            return False
        if lane != Lane.FOR_REVIEW.value:
            raise _not_startable(wp_id, lane, "reviewed")
        if not allow_self and agent_matches(implementer_of(state), agent):
            raise SelfReviewForbidden(wp_id, agent)
        (at,) = events_factory.stamps_after(parsed, 1)
        record(project, mission, [events_factory.transition_row(
            mission, wp_id=wp_id, from_lane=Lane.FOR_REVIEW, to_lane=Lane.IN_REVIEW, at=at,
            actor=agent)])
    return True
