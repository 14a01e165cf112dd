"""``spec-kitty sync backfill``: queue every repo-log event the hub has not acknowledged.

The repository's status logs are the source of truth; the queue is only a delivery
buffer. Backfill rebuilds the envelopes of every mission (lifecycle steps and every lane
transition, with the same ids the emitter uses) and queues those that are neither
queued, acknowledged by the hub nor recorded as permanent failures. This recovers
events recorded while the gate was off, before login, or refused by a full queue.
With ``resend_acknowledged`` everything not currently queued is queued again (the hub
answers ``duplicate`` for what it has), e.g. after the hub's database was restored.
"""

from __future__ import annotations

from typing import Any

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.repo.paths import ProjectPaths


def backfill(project: ProjectPaths, paths: RuntimePaths | None = None, *,
             resend_acknowledged: bool = False) -> dict[str, Any]:
    """Queue what is missing, mission by mission (one transaction each).

    Returns ``{"queued", "already_known", "missions": [{mission_slug, events,
    queued}]}``. Raises the precondition errors of ``sync now`` (gate, hub, login,
    team), :class:`~spec_kitty.sync.queue.QueueFull` when the queue fills up (what was
    queued before stays queued), and log or identity errors naming the file.
    """
    from spec_kitty.repo.missions import list_missions
    from spec_kitty.sync.emitter import mission_envelopes, open_queue, stamp_clock
    from spec_kitty.sync.now import ready_scope

    paths = paths or RuntimePaths.current()
    scope = ready_scope(paths)
    report: dict[str, Any] = {"queued": 0, "already_known": 0, "missions": []}
    with open_queue(scope, paths) as queue:
        for mission in list_missions(project):
            envelopes = mission_envelopes(project, mission.slug, scope.team_slug)
            unknown = queue.unknown_ids([env["event_id"] for env in envelopes],
                                        queued_only=resend_acknowledged)
            missing = [env for env in envelopes if env["event_id"] in unknown]
            stamp_clock(missing, paths)
            added = queue.enqueue(missing) if missing else 0
            report["queued"] += added
            report["already_known"] += len(envelopes) - len(missing)
            report["missions"].append({"mission_slug": mission.slug,
                                       "events": len(envelopes), "queued": added})
    return report
