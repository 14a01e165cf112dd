"""OAuth sessions and their tokens: issue, resolve, rotate, revoke.

Each login creates an ``AuthSession`` (its id is the ``session_id`` returned to the
client). Access tokens live 15 minutes, refresh tokens 30 days; a refresh token is
single-use: using it rotates it, and using it again (a replay, RFC 6819 §5.2.2.3)
revokes the whole session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from spec_kitty_hub.config import Settings
from spec_kitty_hub.db.models import AccessToken, AuthSession, RefreshToken, User, utcnow
from spec_kitty_hub.errors import OAuthError
from spec_kitty_hub.security import new_token, token_hash

CLIENT_ID = "cli_native"
DEFAULT_SCOPE = "offline_access"


@dataclass(frozen=True)
class TokenPair:
    """The token endpoint's success body (RFC 6749 §5.1 plus the session fields)."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_token_expires_in: int
    refresh_token_expires_at: datetime
    session_id: str
    scope: str
    generation: int


@dataclass(frozen=True)
class Principal:
    """Who a bearer token belongs to."""

    user_id: int
    email: str
    name: str
    session_id: str
    scope: str
    auth_method: str
    generation: int
    session_created_at: datetime
    access_expires_at: datetime


def _issue(session: Session, auth: AuthSession, settings: Settings) -> TokenPair:
    now = utcnow()
    access, refresh = new_token(), new_token()
    refresh_expires = now + settings.refresh_token_ttl
    session.add(AccessToken(token_hash=token_hash(access), session_id=auth.id,
                            expires_at=now + settings.access_token_ttl, created_at=now))
    session.add(RefreshToken(token_hash=token_hash(refresh), session_id=auth.id,
                             generation=auth.generation, expires_at=refresh_expires,
                             created_at=now))
    session.flush()
    return TokenPair(
        access_token=access, refresh_token=refresh,
        expires_in=int(settings.access_token_ttl.total_seconds()),
        refresh_token_expires_in=int(settings.refresh_token_ttl.total_seconds()),
        refresh_token_expires_at=refresh_expires.replace(microsecond=0),
        session_id=auth.id, scope=auth.scope, generation=auth.generation)


def start_session(session: Session, settings: Settings, *, user_id: int, scope: str,
                  auth_method: str) -> TokenPair:
    """A new OAuth session for ``user_id`` with its first token pair."""
    auth = AuthSession(id=str(uuid.uuid4()), user_id=user_id, client_id=CLIENT_ID,
                       scope=scope, auth_method=auth_method, generation=1)
    session.add(auth)
    session.flush()
    return _issue(session, auth, settings)


def revoke_session(session: Session, session_id: str, reason: str) -> None:
    """Mark the session revoked and drop its tokens (idempotent)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason))
    session.execute(delete(AccessToken).where(AccessToken.session_id == session_id))


def refresh(session: Session, settings: Settings, refresh_token: str) -> TokenPair:
    """Rotate a refresh token.

    Raises OAuthError ``invalid_grant`` (unknown, expired or replayed token; a replay
    also revokes the session) or ``session_invalid`` (session revoked or user disabled).
    """
    row = session.get(RefreshToken, token_hash(refresh_token))
    if row is None:
        raise OAuthError("invalid_grant", "The refresh token is not valid.")
    auth = session.get(AuthSession, row.session_id)
    assert auth is not None  # the foreign key guarantees it
    if auth.revoked_at is not None:
        raise OAuthError("session_invalid", "The session has ended; sign in again.")
    now = utcnow()
    rotated = session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == row.token_hash, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)).rowcount  # type: ignore[attr-defined]
    if rotated != 1:
        revoke_session(session, auth.id, "refresh_replay")
        raise OAuthError("invalid_grant",
                         "The refresh token was already used; the session is revoked.")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "The refresh token has expired.")
    user = session.get(User, auth.user_id)
    if user is None or not user.is_active:
        revoke_session(session, auth.id, "user_disabled")
        raise OAuthError("session_invalid", "The account is disabled.")
    auth.generation += 1
    auth.refreshed_at = now
    session.flush()
    return _issue(session, auth, settings)


def revoke(session: Session, token: str) -> bool:
    """RFC 7009: revoke the session a refresh or access token belongs to.

    Returns whether a session was found; unknown tokens are not an error.
    """
    digest = token_hash(token)
    refresh_row = session.get(RefreshToken, digest)
    session_id = refresh_row.session_id if refresh_row is not None else None
    if session_id is None:
        access_row = session.get(AccessToken, digest)
        session_id = access_row.session_id if access_row is not None else None
    if session_id is None:
        return False
    revoke_session(session, session_id, "revoked")
    return True


def resolve_access_token(session: Session, token: str) -> Principal | None:
    """The principal of a live access token, else None (unknown, expired, revoked,
    or the user is disabled)."""
    row = session.execute(
        select(AccessToken.expires_at, AuthSession, User)
        .join(AuthSession, AuthSession.id == AccessToken.session_id)
        .join(User, User.id == AuthSession.user_id)
        .where(AccessToken.token_hash == token_hash(token))).first()
    if row is None:
        return None
    expires_at, auth, user = row
    if expires_at <= utcnow() or auth.revoked_at is not None or not user.is_active:
        return None
    return Principal(user_id=user.id, email=user.email, name=user.name, session_id=auth.id,
                     scope=auth.scope, auth_method=auth.auth_method,
                     generation=auth.generation, session_created_at=auth.created_at,
                     access_expires_at=expires_at)


def refresh_expiry(session: Session, session_id: str) -> datetime | None:
    """When the session's current refresh token expires."""
    return session.scalar(
        select(RefreshToken.expires_at)
        .where(RefreshToken.session_id == session_id, RefreshToken.rotated_at.is_(None))
        .order_by(RefreshToken.generation.desc()).limit(1))
