"""Users, teams and memberships.

Every user owns exactly one private teamspace (``is_private_teamspace=True``), created
with the account; other teams are created by an operator and have owners and members.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from spec_kitty_hub.db.models import (
    ROLES,
    AuthSession,
    Membership,
    Team,
    User,
    WebSession,
    utcnow,
)
from spec_kitty_hub.errors import HubError
from spec_kitty_hub.security import MIN_PASSWORD_LENGTH, hash_password

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class TeamView:
    """A team as a member sees it; ``id`` is the slug (what clients display and send)."""

    id: str
    name: str
    role: str
    is_private_teamspace: bool


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48] or "user"


def create_user(session: Session, email: str, name: str, password: str) -> tuple[User, Team]:
    """Create an active user and their private teamspace.

    Raises HubError: ``BAD_EMAIL``, ``WEAK_PASSWORD`` (under 8 characters),
    ``USER_EXISTS``.
    """
    email = normalize_email(email)
    if not _EMAIL.fullmatch(email) or len(email) > 320:
        raise HubError(f"{email!r} is not an email address.", "BAD_EMAIL")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise HubError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
                       "WEAK_PASSWORD")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise HubError(f"A user {email} already exists.", "USER_EXISTS")
    name = name.strip() or email.split("@", 1)[0]
    user = User(email=email, name=name[:200], password_hash=hash_password(password),
                is_active=True)
    session.add(user)
    session.flush()
    base = f"{_slugify(email.split('@', 1)[0])}-space"
    slug, counter = base, 1
    while session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        counter += 1
        slug = f"{base}-{counter}"
    team = Team(slug=slug, name=f"{name}'s teamspace"[:200], is_private_teamspace=True)
    session.add(team)
    session.flush()
    session.add(Membership(team_id=team.id, user_id=user.id, role="owner"))
    session.flush()
    return user, team


def get_user(session: Session, email: str) -> User:
    """Raises HubError(``USER_NOT_FOUND``)."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise HubError(f"No user {normalize_email(email)} (`spec-kitty-hub user list` shows "
                       "the accounts; `spec-kitty-hub user add` creates one).", "USER_NOT_FOUND")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def disable_user(session: Session, email: str) -> User:
    """Deactivate a user and end every OAuth and browser session they hold."""
    user = get_user(session, email)
    user.is_active = False
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason="user_disabled"))
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def get_team(session: Session, slug: str) -> Team:
    """Raises HubError(``TEAM_NOT_FOUND``)."""
    team = session.scalar(select(Team).where(Team.slug == slug))
    if team is None:
        raise HubError(f"No team {slug!r}.", "TEAM_NOT_FOUND")
    return team


def create_team(session: Session, slug: str, name: str, owner_email: str | None) -> Team:
    """A shared team; ``owner_email`` (optional) becomes its first owner.

    Raises HubError: ``BAD_SLUG`` (lower-case letters, digits and dashes, ≤ 64),
    ``TEAM_EXISTS``, ``USER_NOT_FOUND``.
    """
    if not _SLUG.fullmatch(slug):
        raise HubError(f"{slug!r} is not a valid team slug (lower-case letters, digits, "
                       "dashes; at most 64).", "BAD_SLUG")
    if session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        raise HubError(f"A team {slug!r} already exists.", "TEAM_EXISTS")
    owner = get_user(session, owner_email) if owner_email else None
    team = Team(slug=slug, name=(name.strip() or slug)[:200], is_private_teamspace=False)
    session.add(team)
    session.flush()
    if owner is not None:
        session.add(Membership(team_id=team.id, user_id=owner.id, role="owner"))
        session.flush()
    return team


def list_teams(session: Session) -> list[tuple[Team, int]]:
    """Every team with its member count, by slug."""
    teams = list(session.scalars(select(Team).order_by(Team.slug)))
    counts: dict[int, int] = {}
    for team_id in session.scalars(select(Membership.team_id)):
        counts[team_id] = counts.get(team_id, 0) + 1
    return [(team, counts.get(team.id, 0)) for team in teams]


def add_member(session: Session, slug: str, email: str, role: str) -> Membership:
    """Add a user to a team, or change their role when already a member.

    Raises HubError: ``BAD_ROLE``, ``PRIVATE_TEAMSPACE`` (nobody joins another user's
    private teamspace), ``TEAM_NOT_FOUND``, ``USER_NOT_FOUND``.
    """
    if role not in ROLES:
        raise HubError(f"Unknown role {role!r}: use owner or member.", "BAD_ROLE")
    team = get_team(session, slug)
    if team.is_private_teamspace:
        raise HubError(f"{slug!r} is a private teamspace; it has exactly one member.",
                       "PRIVATE_TEAMSPACE")
    user = get_user(session, email)
    membership = session.get(Membership, (team.id, user.id))
    if membership is None:
        membership = Membership(team_id=team.id, user_id=user.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def remove_member(session: Session, slug: str, email: str) -> None:
    """Raises HubError: ``PRIVATE_TEAMSPACE``, ``NOT_A_MEMBER``, ``LAST_OWNER``."""
    team = get_team(session, slug)
    if team.is_private_teamspace:
        raise HubError(f"{slug!r} is a private teamspace; its owner cannot be removed.",
                       "PRIVATE_TEAMSPACE")
    user = get_user(session, email)
    membership = session.get(Membership, (team.id, user.id))
    if membership is None:
        raise HubError(f"{user.email} is not a member of {slug!r}.", "NOT_A_MEMBER")
    if membership.role == "owner":
        owners = session.scalars(select(Membership).where(
            Membership.team_id == team.id, Membership.role == "owner")).all()
        if len(owners) == 1:
            raise HubError(f"{user.email} is the last owner of {slug!r}; add another "
                           "owner first.", "LAST_OWNER")
    session.delete(membership)


def teams_of(session: Session, user_id: int) -> list[TeamView]:
    """The user's teams: the private teamspace first, then by name."""
    rows = session.execute(
        select(Team.slug, Team.name, Membership.role, Team.is_private_teamspace)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user_id)
        .order_by(Team.is_private_teamspace.desc(), Team.name, Team.slug)).all()
    return [TeamView(id=slug, name=name, role=role, is_private_teamspace=private)
            for slug, name, role, private in rows]


def member_team(session: Session, user_id: int, slug: str) -> tuple[Team, str] | None:
    """The team ``slug`` and the caller's role in it, or None when not a member.

    The one query every team-scoped endpoint starts from: a team the caller is not in
    is indistinguishable from a team that does not exist.
    """
    row = session.execute(
        select(Team, Membership.role)
        .join(Membership, Membership.team_id == Team.id)
        .where(Team.slug == slug, Membership.user_id == user_id)).first()
    return (row[0], row[1]) if row is not None else None


def team_members(session: Session, team_id: int) -> list[tuple[User, str]]:
    rows = session.execute(
        select(User, Membership.role).join(Membership, Membership.user_id == User.id)
        .where(Membership.team_id == team_id).order_by(User.email)).all()
    return [(user, role) for user, role in rows]
