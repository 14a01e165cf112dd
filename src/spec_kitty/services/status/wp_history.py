"""Why a work package is where it is: the reason of the move that put it there.

The snapshot (status.json) keeps each work package's lane and last event id but not
the reason; a blocked card should say why. The folded log keeps it per work package
(``LogState.last_transition``), so no read of the log is needed.
"""

from __future__ import annotations

from typing import Any

from spec_kitty.repo.status.event_log import LogState


def blocked_details(log: LogState) -> dict[str, dict[str, Any]]:
    """``{wp_id: {reason, actor, at}}`` for every blocked work package."""
    blocked = sorted(wp for wp, state in log.snapshot["work_packages"].items()
                     if state.get("lane") == "blocked")
    empty = {"reason": None, "actor": None, "at": None}
    return {wp_id: log.last_transition(wp_id) or dict(empty) for wp_id in blocked}
