"""Status events and mission steps → envelopes → the offline queue.

Called through :mod:`spec_kitty.services.status.status_observers` after every status write,
and only when the rollout gate is on. Nobody logged in means nothing to do: the event
stays in the repository's log (the source of truth) and ``sync backfill`` queues it
after login. Every function here may raise; the observer seam turns any failure into a
one-line warning so the command itself never fails because of sync.

Once events are queued, the background daemon is nudged (or started, policy allowing:
:func:`spec_kitty.sync.daemon.policy.on_events_queued`), which never raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spec_kitty.core.sync.envelope import envelope_for_status_event
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.sync.clock import LamportClock
from spec_kitty.sync.queue import EventQueue
from spec_kitty.sync.scope import SyncScope, current_scope


def is_transition(row: Mapping[str, Any]) -> bool:
    """A lane-transition row (not an annotation, lifecycle or retrospective row)."""
    return "to_lane" in row and "kind" not in row and "event_type" not in row


def stamp_clock(envelopes: Sequence[dict[str, Any]], paths: RuntimePaths) -> None:
    """Give each envelope the next Lamport value, reserving one block for all of them."""
    if envelopes:
        first = LamportClock(paths).tick(len(envelopes))
        for offset, envelope in enumerate(envelopes):
            envelope["lamport_clock"] = first + offset


def open_queue(scope: SyncScope, paths: RuntimePaths) -> EventQueue:
    """The queue of ``scope`` with the configured capacity."""
    from spec_kitty.sync.settings import max_queue_size

    return EventQueue(scope.queue_path(paths), max_queue_size(paths))


def enqueue(envelopes: list[dict[str, Any]], scope: SyncScope, paths: RuntimePaths,
            *, skip_known: bool = False) -> int:
    """Stamp and queue ``envelopes``; returns the number of rows added.

    ``skip_known`` first drops events already queued, acknowledged or failed (lifecycle
    and backfill re-derive events the hub may have). Raises
    :class:`~spec_kitty.sync.queue.QueueFull` at capacity.
    """
    with open_queue(scope, paths) as queue:
        if skip_known:
            unknown = queue.unknown_ids([env["event_id"] for env in envelopes])
            envelopes = [env for env in envelopes if env["event_id"] in unknown]
        stamp_clock(envelopes, paths)
        return queue.enqueue(envelopes) if envelopes else 0


def emit_status_events(repo_root: Path, mission_slug: str,
                       events: Sequence[Mapping[str, Any]],
                       paths: RuntimePaths | None = None) -> int:
    """Queue a WPStatusChanged envelope for each lane transition in ``events``.

    Returns the number queued (0 when nobody is logged in). Raises for an unusable
    project identity, a bad row or a full queue.
    """
    rows = [{**row, "mission_slug": row.get("mission_slug") or mission_slug}
            for row in events if is_transition(row)]
    if not rows:
        return 0
    paths = paths or RuntimePaths.current()
    scope = current_scope(paths)
    if scope is None:
        return 0
    from spec_kitty.sync.context import envelope_context

    context = envelope_context(ProjectPaths(repo_root), scope.team_slug, paths)
    envelopes = [envelope_for_status_event(row, context, 0) for row in rows]
    queued = enqueue(envelopes, scope, paths)
    _nudge_daemon(paths, queued)
    return queued


def _nudge_daemon(paths: RuntimePaths, queued: int) -> None:
    if queued:
        from spec_kitty.sync.daemon.policy import on_events_queued

        on_events_queued(paths)


def _first_transitions(transitions: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    first: dict[str, str] = {}
    for row in sorted(transitions, key=lambda r: (str(r["at"]), str(r["event_id"]))):
        first.setdefault(str(row["wp_id"]), str(row["at"]))
    return first


def mission_envelopes(project: ProjectPaths, mission_slug: str, team_slug: str | None, *,
                      lifecycle_only: bool = False) -> list[dict[str, Any]]:
    """Every envelope a mission's repo log and metadata give rise to, in causal order.

    Lifecycle steps that precede (created, WPs) come first, then every lane transition
    of the log in file order, then accepted/merged. ``lifecycle_only`` leaves out the
    transitions. Raises for an unreadable log or a missing project identity.
    """
    from spec_kitty.core.sync.envelope import MISSION_ACCEPTED, MISSION_MERGED
    from spec_kitty.repo.missions import Mission
    from spec_kitty.repo.status import event_log
    from spec_kitty.sync.context import envelope_context
    from spec_kitty.sync.lifecycle import lifecycle_envelopes

    mission = Mission(project.specs_dir / mission_slug)
    context = envelope_context(project, team_slug)
    parsed = event_log.read_log(mission)
    lifecycle = lifecycle_envelopes(project, mission, _first_transitions(parsed.transitions),
                                    context)
    late = [env for env in lifecycle if env["event_type"] in (MISSION_ACCEPTED, MISSION_MERGED)]
    early = [env for env in lifecycle if env not in late]
    if lifecycle_only:
        return early + late
    transitions = [envelope_for_status_event({**row, "mission_slug": mission.slug}, context, 0)
                   for row in parsed.transitions]
    return early + transitions + late


def emit_mission(repo_root: Path, mission_slug: str, paths: RuntimePaths | None = None) -> int:
    """Queue the mission's lifecycle envelopes the hub has not acknowledged yet."""
    paths = paths or RuntimePaths.current()
    scope = current_scope(paths)
    if scope is None:
        return 0
    envelopes = mission_envelopes(ProjectPaths(repo_root), mission_slug, scope.team_slug,
                                  lifecycle_only=True)
    queued = enqueue(envelopes, scope, paths, skip_known=True)
    _nudge_daemon(paths, queued)
    return queued
