"""Change detection for the live mission page, by polling the database.

Every hub worker answers its own streams from the shared database, so an event ingested
by any worker (or any hub process on the same database) reaches every open page: there
is no in-process fan-out to miss it.

The cursor is ``"<events>:<documents>"``: the mission's highest stored event sequence
(``sync_events.id``, one probe of index ``ix_sync_events_mission_id_id``) and its highest
dossier document id. Documents count because ``sync now`` pushes them after the events:
a review's feedback text can arrive after the move that references it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spec_kitty_hub.db.models import Membership
from spec_kitty_hub.db.sync_models import DossierDocument, Mission, SyncEvent
from spec_kitty_hub.services.signin import web_session_user


def _cursor(session: Session, mission_id: int) -> str:
    events = session.scalar(select(func.max(SyncEvent.id)).where(
        SyncEvent.mission_id == mission_id)) or 0
    documents = session.scalar(select(func.max(DossierDocument.id)).where(
        DossierDocument.mission_id == mission_id)) or 0
    return f"{int(events)}:{int(documents)}"


def mission_cursor(session: Session, mission: Mission) -> str:
    """The mission's cursor (``"0:0"`` when it has neither events nor documents)."""
    return _cursor(session, mission.id)


def poll(session: Session, user_id: int, mission_id: int,
         cookie: str | None = None) -> str | None:
    """The cursor of ``mission_id`` while ``user_id`` is still a member of its team
    and, given the stream's session ``cookie``, that browser session is still theirs
    and live; else None (membership removed, mission deleted, signed out, session
    expired or account disabled: the stream ends)."""
    if cookie is not None:
        user = web_session_user(session, cookie)
        if user is None or user.id != user_id:
            return None
    team_id = session.scalar(
        select(Mission.team_id).join(Membership, Membership.team_id == Mission.team_id)
        .where(Mission.id == mission_id, Membership.user_id == user_id))
    if team_id is None:
        return None
    return _cursor(session, mission_id)
