"""Build new log rows: ids, timestamps and the canonical field set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from spec_kitty.core.status.lanes import Lane
from spec_kitty.core.timestamps import increasing_timestamps
from spec_kitty.repo.missions import Mission


def new_event_id() -> str:
    from ulid import ULID

    return str(ULID())


class StampedLog(Protocol):
    """A parsed log or a folded one: anything that knows its newest ``at``."""

    @property
    def latest_at(self) -> str | None: ...


def latest_at(log: StampedLog) -> str | None:
    return log.latest_at


def stamps_after(log: StampedLog, count: int) -> list[str]:
    """``count`` increasing timestamps that sort after every ``at`` already in ``log``."""
    return increasing_timestamps(log.latest_at, datetime.now(UTC), count)


def transition_row(
    mission: Mission,
    *,
    wp_id: str,
    from_lane: Lane,
    to_lane: Lane,
    at: str,
    actor: Any,
    force: bool = False,
    execution_mode: str = "worktree",
    reason: str | None = None,
    review_ref: str | None = None,
    evidence: dict[str, Any] | None = None,
    review_result: dict[str, Any] | None = None,
    policy_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "actor": actor,
        "at": at,
        "event_id": new_event_id(),
        "evidence": evidence,
        "execution_mode": execution_mode,
        "force": force,
        "from_lane": from_lane.value,
        "mission_slug": mission.slug,
        "policy_metadata": policy_metadata,
        "reason": reason,
        "review_ref": review_ref,
        "to_lane": to_lane.value,
        "wp_id": wp_id,
    }
    if mission.mission_id:
        row["mission_id"] = mission.mission_id
    if review_result is not None:
        row["review_result"] = review_result
    return row


def annotation_row(*, wp_id: str, at: str, actor: Any, delta: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": actor,
        "at": at,
        "delta": delta,
        "event_id": new_event_id(),
        "kind": "annotation",
        "wp_id": wp_id,
    }
