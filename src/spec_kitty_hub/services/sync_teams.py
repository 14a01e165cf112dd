"""Which team a sync upload (event batch or document) belongs to.

A named team (``X-Team-Slug`` or ``team_slug``) must be one of the caller's. With no
name (the published Spec Kitty CLI sends neither), the upload goes to the caller's team
that already holds the project, else to the caller's private teamspace, the team the
reference names for direct ingress (sync-subsystem.md §3.2, "Identity").
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty_hub.db.models import Membership, Team
from spec_kitty_hub.db.sync_models import Project
from spec_kitty_hub.errors import HubError
from spec_kitty_hub.services.accounts import member_team


def upload_team(session: Session, user_id: int, named: str | None,
                project_uuid: str | None) -> tuple[int, str]:
    """``(team id, slug)`` for an upload by ``user_id``.

    Raises HubError ``team_forbidden`` when ``named`` is not a team of the caller, or
    when the caller has no team at all.
    """
    if named:
        found = member_team(session, user_id, named)
        if found is None:
            raise HubError(f"Forbidden: unauthorized for team {named!r} (not a team of this "
                           "account).", "team_forbidden")
        return found[0].id, found[0].slug
    mine = select(Membership.team_id).where(Membership.user_id == user_id)
    holder = None
    if project_uuid:
        holder = session.execute(
            select(Team.id, Team.slug).join(Project, Project.team_id == Team.id)
            .where(Project.project_uuid == project_uuid, Team.id.in_(mine))
            .order_by(Team.is_private_teamspace.desc(), Team.id)).first()
    if holder is None:
        holder = session.execute(
            select(Team.id, Team.slug).where(Team.id.in_(mine))
            .order_by(Team.is_private_teamspace.desc(), Team.id)).first()
    if holder is None:
        raise HubError("Forbidden: this account has no team.", "team_forbidden")
    return int(holder[0]), str(holder[1])
