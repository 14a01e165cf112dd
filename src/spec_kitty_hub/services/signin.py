"""Browser sign-in: password check with rate limits, session cookies, CSRF tokens.

Nothing lives in process memory: failed attempts and sessions are rows, CSRF tokens are
HMACs under a key stored in the database, so any hub process can serve any request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from spec_kitty_hub.config import Settings
from spec_kitty_hub.db.models import HubSetting, LoginFailure, User, WebSession, utcnow
from spec_kitty_hub.security import new_token, sign, token_hash, verify_password
from spec_kitty_hub.services.accounts import normalize_email

# One message for a wrong password, an unknown account and a disabled one.
BAD_CREDENTIALS = "Email or password is incorrect."
RATE_LIMITED = "Too many failed sign-in attempts. Wait a few minutes and try again."


@dataclass(frozen=True)
class SignInResult:
    """``user`` on success; otherwise ``error`` and whether it was the rate limit."""

    user: User | None
    error: str | None = None
    rate_limited: bool = False


def _failures(session: Session, scope: str, key: str, since: object) -> int:
    return session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.scope == scope, LoginFailure.key == key,
        LoginFailure.created_at > since)) or 0


def sign_in(session: Session, settings: Settings, *, email: str, password: str,
            address: str) -> SignInResult:
    """Check a password, counting failures per account and per client address.

    Over either limit (``login_limit_account`` / ``login_limit_address`` failures within
    ``login_window``) the password is not even checked, whether or not the account
    exists, so the limit reveals nothing about which accounts exist.
    """
    email = normalize_email(email)[:320]
    now = utcnow()
    since = now - settings.login_window
    if (_failures(session, "account", email, since) >= settings.login_limit_account
            or _failures(session, "address", address, since) >= settings.login_limit_address):
        return SignInResult(None, RATE_LIMITED, rate_limited=True)
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    if ok and user is not None and user.is_active:
        session.execute(delete(LoginFailure).where(
            LoginFailure.scope == "account", LoginFailure.key == email))
        return SignInResult(user)
    session.add_all([LoginFailure(scope="account", key=email, created_at=now),
                     LoginFailure(scope="address", key=address[:320], created_at=now)])
    # Old rows only slow the counts down.
    session.execute(delete(LoginFailure).where(
        LoginFailure.created_at < now - settings.login_window - timedelta(hours=1)))
    return SignInResult(None, BAD_CREDENTIALS)


def open_web_session(session: Session, settings: Settings, user_id: int) -> str:
    """A new browser session; returns the cookie value (only its hash is stored)."""
    token = new_token()
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.add(WebSession(token_hash=token_hash(token), user_id=user_id,
                           expires_at=now + settings.web_session_ttl, created_at=now))
    return token


def web_session_user(session: Session, cookie: str | None) -> User | None:
    """The active user behind a session cookie, else None."""
    if not cookie:
        return None
    row = session.execute(
        select(User).join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.token_hash == token_hash(cookie),
               WebSession.expires_at > utcnow(), User.is_active.is_(True))).first()
    return row[0] if row is not None else None


def close_web_session(session: Session, cookie: str | None) -> None:
    if cookie:
        session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(cookie)))


def csrf_key(session: Session) -> str:
    """The CSRF signing key, created by the first migration."""
    row = session.get(HubSetting, "csrf_key")
    assert row is not None, "database not migrated: run `spec-kitty-hub migrate`"
    return row.value


def csrf_token(key: str, binding: str) -> str:
    """The form token for a browser: an HMAC of its random CSRF cookie value."""
    return sign(key, "csrf:" + binding)
