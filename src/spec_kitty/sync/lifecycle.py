"""Envelopes of a mission's lifecycle, derived from what is on disk.

Lifecycle steps have no row in the status log, so their envelopes are rebuilt from
``meta.json`` and the WP files, with ids derived from the step
(:func:`~spec_kitty.core.sync.envelope.derived_event_id`): the emitter and
``sync backfill`` produce the same ids, and the hub stores each step once.

=================  ============================================================
MissionCreated     ``meta.created_at``
WPCreated          each WP with a lane transition; time = its first transition
MissionAccepted    each entry of ``meta.acceptance_history`` (or ``accepted_at``)
MissionMerged      ``meta.merged_at``
=================  ============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spec_kitty.core.sync.envelope import (
    MISSION_ACCEPTED,
    MISSION_CREATED,
    MISSION_MERGED,
    EnvelopeContext,
    mission_envelope,
    wp_created_envelope,
)
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths


def _number(meta: Mapping[str, Any]) -> int | None:
    value = meta.get("mission_number")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _text(meta: Mapping[str, Any], key: str, default: str = "") -> str:
    value = meta.get(key)
    return value if isinstance(value, str) else default


def _created(mission: Mission, meta: Mapping[str, Any], wp_count: int,
             context: EnvelopeContext) -> list[dict[str, Any]]:
    created_at = _text(meta, "created_at")
    if not created_at:
        return []
    payload = {
        "mission_slug": mission.slug, "mission_number": _number(meta),
        "mission_type": _text(meta, "mission_type", "software-dev"),
        "target_branch": _text(meta, "target_branch", "main"), "wp_count": wp_count,
        "friendly_name": mission.friendly_name, "purpose_tldr": _text(meta, "purpose_tldr"),
        "purpose_context": _text(meta, "purpose_context"), "mission_id": mission.mission_id,
        "created_at": created_at}
    return [mission_envelope(MISSION_CREATED, mission_slug=mission.slug,
                             mission_id=mission.mission_id, payload=payload,
                             timestamp=created_at, lamport_clock=0, context=context)]


def _accepted(mission: Mission, meta: Mapping[str, Any],
              context: EnvelopeContext) -> list[dict[str, Any]]:
    history = meta.get("acceptance_history")
    records = [r for r in history if isinstance(r, Mapping)] if isinstance(history, list) else []
    if not records and meta.get("accepted_at"):
        records = [meta]
    envelopes = []
    for record in records:
        at = _text(record, "accepted_at")
        if not at:
            continue
        payload = {"mission_slug": mission.slug, "mission_id": mission.mission_id,
                   "actor": _text(record, "accepted_by", "unknown") or "unknown",
                   "accepted_at": at, "accept_commit": record.get("accepted_from_commit")}
        envelopes.append(mission_envelope(
            MISSION_ACCEPTED, mission_slug=mission.slug, mission_id=mission.mission_id,
            payload=payload, timestamp=at, lamport_clock=0, context=context,
            step_key=at))
    return envelopes


def _merged(mission: Mission, meta: Mapping[str, Any],
            context: EnvelopeContext) -> list[dict[str, Any]]:
    at = _text(meta, "merged_at")
    if not at:
        return []
    payload = {"mission_slug": mission.slug, "mission_id": mission.mission_id,
               "mission_number": _number(meta),
               "target_branch": _text(meta, "merged_into") or _text(meta, "target_branch"),
               "merge_commit": meta.get("merge_commit"), "merged_at": at, "actor": None}
    return [mission_envelope(MISSION_MERGED, mission_slug=mission.slug,
                             mission_id=mission.mission_id, payload=payload, timestamp=at,
                             lamport_clock=0, context=context, step_key=at)]


def lifecycle_envelopes(project: ProjectPaths, mission: Mission,
                        first_transition: Mapping[str, str],
                        context: EnvelopeContext) -> list[dict[str, Any]]:
    """Every lifecycle envelope of ``mission`` in causal order (created, WPs, accepted,
    merged). ``first_transition`` maps wp_id to the ``at`` of its first lane transition.
    ``lamport_clock`` is 0 in each: the caller assigns a reserved block
    (:func:`spec_kitty.sync.emitter.stamp_clock`).
    """
    from spec_kitty.repo.work_packages import load_work_packages

    meta = mission.meta
    wps = load_work_packages(project, mission)
    envelopes = _created(mission, meta, len(wps), context)
    for wp in wps:
        at = first_transition.get(wp.wp_id)
        if at is None:
            continue
        payload = {"wp_id": wp.wp_id, "wp_title": wp.title, "mission_slug": mission.slug,
                   "mission_id": mission.mission_id, "actor": "finalize-tasks",
                   "depends_on": list(wp.dependencies), "wp_path": wp.file, "created_at": at,
                   "mission_number": _number(meta)}
        envelopes.append(wp_created_envelope(
            mission_slug=mission.slug, mission_id=mission.mission_id, payload=payload,
            timestamp=at, lamport_clock=0, context=context))
    envelopes += _accepted(mission, meta, context)
    envelopes += _merged(mission, meta, context)
    return envelopes
