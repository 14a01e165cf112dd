"""Change detection for the live mission page, by polling the event table.

Every hub worker answers its own streams from the shared database, so an event ingested
by any worker (or any hub process on the same PostgreSQL) reaches every open page:
there is no in-process fan-out to miss it. The cursor is the highest stored event
sequence (``sync_events.id``) of the mission; index ``ix_sync_events_mission_id_id``
makes reading it one index probe.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spec_kitty_hub.db.models import Membership
from spec_kitty_hub.db.sync_models import Mission, SyncEvent


def mission_cursor(session: Session, mission: Mission) -> int:
    """The mission's latest stored event sequence (0 when it has none)."""
    return int(session.scalar(select(func.max(SyncEvent.id)).where(
        SyncEvent.mission_id == mission.id)) or 0)


def poll(session: Session, user_id: int, mission_id: int) -> int | None:
    """The cursor of ``mission_id`` while ``user_id`` is still a member of its team,
    else None (membership removed or mission deleted: the stream ends)."""
    team_id = session.scalar(
        select(Mission.team_id).join(Membership, Membership.team_id == Mission.team_id)
        .where(Mission.id == mission_id, Membership.user_id == user_id))
    if team_id is None:
        return None
    return int(session.scalar(select(func.max(SyncEvent.id)).where(
        SyncEvent.mission_id == mission_id)) or 0)
