"""Why a work package is where it is: the reason of the move that put it there.

The snapshot (status.json) keeps each work package's lane and last event id but not
the reason; a blocked card should say why, so the reason is looked up in the log,
and only when some work package is blocked.
"""

from __future__ import annotations

from typing import Any

from spec_kitty.repo import event_log
from spec_kitty.repo.missions import Mission


def blocked_details(mission: Mission, snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{wp_id: {reason, actor, at}}`` for every blocked work package."""
    blocked = {wp: state.get("last_event_id") for wp, state in
               snapshot["work_packages"].items() if state.get("lane") == "blocked"}
    if not blocked:
        return {}
    rows = {row["event_id"]: row for row in event_log.read_log_lenient(mission).transitions}
    details = {}
    for wp_id, event_id in sorted(blocked.items()):
        row = rows.get(event_id) or {}
        details[wp_id] = {"reason": row.get("reason"), "actor": row.get("actor"),
                          "at": row.get("at")}
    return details
