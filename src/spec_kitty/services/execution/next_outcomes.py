"""What ``next --result failed|blocked`` records, so outcomes are visible to the team.

``next`` remembers the last step it handed each agent (``.kittify/runtime/next/
<mission>.json``, local run state). A ``blocked`` result moves that step's work
package to ``blocked`` with the agent's reason (an event in the log: the board, the
timeline and every teammate see it). A ``failed`` result adds a note to the work
package's history and counts the attempt; after ``next.max_attempts`` failures of
the same step (default 3) the work package is escalated to ``blocked`` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.ids import agent_matches
from spec_kitty.core.status.lanes import Lane
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

DEFAULT_MAX_ATTEMPTS = 3
# Lanes a work package can be moved to ``blocked`` from.
BLOCKABLE = frozenset({"planned", "claimed", "in_progress", "for_review", "in_review",
                       "approved"})


def _state_path(project: ProjectPaths, mission: Mission) -> Path:
    return project.runtime_dir / "next" / f"{mission.slug}.json"


@contextmanager
def run_state(project: ProjectPaths, mission: Mission) -> Iterator[dict[str, Any]]:
    """The mission's ``next`` run state, locked, saved on exit."""
    from filelock import FileLock

    lock_dir = project.lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = _state_path(project, mission)
    with FileLock(str(lock_dir / f"{mission.slug}.next.lock"), timeout=60):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        if not isinstance(state, dict):
            state = {}
        state.setdefault("agents", {})
        state.setdefault("attempts", {})
        yield state
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(state, indent=2, sort_keys=True) + "\n")


def step_key(action: str | None, wp_id: str | None) -> str:
    return f"{action or 'none'}:{wp_id or '-'}"


def remember_step(state: dict[str, Any], agent: str, action: str | None,
                  wp_id: str | None) -> None:
    state["agents"][agent] = {"action": action, "wp_id": wp_id, "at": utc_now_iso()}


def last_step(state: dict[str, Any], agent: str) -> tuple[str | None, str | None]:
    entry = state["agents"].get(agent) or {}
    return entry.get("action"), entry.get("wp_id")


def max_attempts(project: ProjectPaths) -> int:
    from spec_kitty.services.status.status_commit import setting

    value = setting(project, "next", "max_attempts", DEFAULT_MAX_ATTEMPTS)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecKittyError(f"{project.config_file}: next.max_attempts must be a whole number "
                             f"of at least 1 (got {value!r}).", "CONFIG_INVALID",
                             details={"file": str(project.config_file),
                                      "field": "next.max_attempts"})
    return value


@dataclass
class Failure:
    """One counted failure of a step."""

    action: str | None
    wp_id: str | None
    attempt: int
    limit: int
    reasons: list[str] = field(default_factory=list)

    @property
    def escalate(self) -> bool:
        return self.attempt >= self.limit


def count_failure(state: dict[str, Any], agent: str, reason: str, limit: int) -> Failure:
    action, wp_id = last_step(state, agent)
    entry = state["attempts"].setdefault(step_key(action, wp_id), {"count": 0, "reasons": []})
    entry["count"] += 1
    entry["reasons"].append(f"{agent}: {reason}")
    return Failure(action, wp_id, entry["count"], limit, list(entry["reasons"]))


def clear_attempts(state: dict[str, Any], agent: str) -> None:
    state["attempts"].pop(step_key(*last_step(state, agent)), None)


def held_by(snapshot: dict[str, Any], agent: str) -> str | None:
    """The work package ``agent`` is working on or reviewing right now, if any."""
    from spec_kitty.services.status.claims import holder_of

    for wp_id, wp_state in snapshot["work_packages"].items():
        if wp_state.get("lane") in ("claimed", "in_progress", "in_review") and \
                agent_matches(holder_of(wp_state), agent):
            return wp_id
    return None


def held_by_another(snapshot: dict[str, Any], wp_id: str, agent: str) -> str | None:
    """Who holds ``wp_id`` (claimed, in progress or in review) if that is not ``agent``.

    Two agents can be handed the same step; the one that lost the claim reports on a
    work package it never held, and that report must not block or annotate the
    winner's work.
    """
    from spec_kitty.services.status.claims import holder_of

    state = snapshot["work_packages"].get(wp_id, {})
    if state.get("lane") not in ("claimed", "in_progress", "in_review"):
        return None
    holder = holder_of(state)
    return None if holder is None or agent_matches(holder, agent) else holder


def block(project: ProjectPaths, mission: Mission, agent: str, wp_id: str,
          reason: str) -> bool:
    """Move ``wp_id`` to blocked with ``reason``; False when its lane cannot be blocked."""
    from spec_kitty.repo.status import event_log
    from spec_kitty.services.status.transitions import MoveRequest, move_task

    lane = event_log.load_snapshot(project, mission)["work_packages"].get(wp_id, {}).get(
        "lane")
    if lane not in BLOCKABLE:
        return False
    review_result = None
    if lane == Lane.IN_REVIEW.value:  # leaving a review always records its outcome
        review_result = {"reviewer": agent, "verdict": "blocked",
                         "reference": "next --result blocked"}
    move_task(project, mission, MoveRequest(wp_id=wp_id, to_lane=Lane.BLOCKED.value,
                                            actor=agent, reason=reason,
                                            review_result=review_result))
    return True


def note(project: ProjectPaths, mission: Mission, agent: str, wp_id: str, text: str) -> None:
    """Add a note to a work package's history (an annotation event, committed)."""
    from spec_kitty.repo.status import event_log
    from spec_kitty.services.status import events_factory
    from spec_kitty.services.status.transitions import record

    with event_log.status_lock(project, mission):
        parsed = event_log.current_state(project, mission)
        (at,) = events_factory.stamps_after(parsed, 1)
        record(project, mission, [events_factory.annotation_row(
            wp_id=wp_id, at=at, actor=agent, delta={"note": text})])
