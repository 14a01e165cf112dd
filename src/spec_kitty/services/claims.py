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
from spec_kitty.core.lanes import Lane
from spec_kitty.repo import event_log
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.services import events_factory


class ClaimConflict(SpecKittyError):
    def __init__(self, wp_id: str, holder: str, lane: str) -> None:
        super().__init__(
            f"{wp_id} is already {lane} by {holder}.",
            "WORK_PACKAGE_CLAIM_CONFLICT",
            details={"wp_id": wp_id, "holder": holder, "lane": lane},
            hint="Pick another work package (spec-kitty next tells you which).",
        )


def holder_of(state: dict[str, Any]) -> str | None:
    """Who holds a work package: the claiming agent, else the last actor."""
    holder = state.get("agent") or state.get("actor")
    return str(holder) if holder else None


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
    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        state = event_log.snapshot_of(mission, parsed)["work_packages"].get(wp_id, {})
        lane = check_implementable(state, wp_id, agent)
        hops: list[tuple[Lane, Lane]] = []
        if lane == Lane.PLANNED.value:
            hops.append((Lane.PLANNED, Lane.CLAIMED))
        if lane in (Lane.PLANNED.value, Lane.CLAIMED.value):
            hops.append((Lane.CLAIMED, Lane.IN_PROGRESS))
        if not hops:
            return []
        stamps = events_factory.stamps_after(parsed, len(hops))
        claim = {"agent": agent, "shell_pid": os.getppid()}
        rows = [events_factory.transition_row(
            mission, wp_id=wp_id, from_lane=source, to_lane=dest, at=at, actor=agent,
            execution_mode=execution_mode,
            policy_metadata=claim if dest is Lane.CLAIMED else None)
            for (source, dest), at in zip(hops, stamps, strict=False)]
        event_log.append_rows(mission, rows)
        event_log.materialize(project, mission)
    return [dest.value for _, dest in hops]


def start_review(project: ProjectPaths, mission: Mission, wp_id: str, agent: str) -> bool:
    """Move for_review → in_review; returns False when this agent already holds the review."""
    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        state = event_log.snapshot_of(mission, parsed)["work_packages"].get(wp_id, {})
        lane = state.get("lane", Lane.UNINITIALIZED.value)
        if lane == Lane.IN_REVIEW.value:
            holder = state.get("actor")
            if not agent_matches(holder, agent):
                raise ClaimConflict(wp_id, str(holder or "another reviewer"), "in_review")
            return False
        if lane != Lane.FOR_REVIEW.value:
            raise _not_startable(wp_id, lane, "reviewed")
        (at,) = events_factory.stamps_after(parsed, 1)
        event_log.append_rows(mission, [events_factory.transition_row(
            mission, wp_id=wp_id, from_lane=Lane.FOR_REVIEW, to_lane=Lane.IN_REVIEW, at=at,
            actor=agent)])
        event_log.materialize(project, mission)
    return True
