"""The two ways a user grants the CLI a session: authorization code + PKCE, device code.

Sources: RFC 6749 §4.1 and RFC 7636 (code flow with S256), RFC 8628 (device flow).
Callers must commit even when an ``OAuthError`` is raised: a replayed code revokes the
session it produced, and a poll records its time (for ``slow_down``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spec_kitty_hub.config import Settings
from spec_kitty_hub.db.models import AuthorizationCode, DeviceCode, LoginFailure, User, utcnow
from spec_kitty_hub.errors import HubError, OAuthError
from spec_kitty_hub.security import (
    new_token,
    new_user_code,
    normalize_user_code,
    pkce_s256_matches,
    token_hash,
)
from spec_kitty_hub.services.tokens import TokenPair, revoke_session, start_session


def issue_code(session: Session, settings: Settings, *, user_id: int, redirect_uri: str,
               code_challenge: str, scope: str, client_id: str) -> str:
    """A single-use authorization code bound to the redirect URI and PKCE challenge."""
    code = new_token()
    session.add(AuthorizationCode(
        code_hash=token_hash(code), user_id=user_id, client_id=client_id,
        redirect_uri=redirect_uri, code_challenge=code_challenge, scope=scope,
        expires_at=utcnow() + settings.authorization_code_ttl))
    session.flush()
    return code


def exchange_code(session: Session, settings: Settings, *, code: str, redirect_uri: str,
                  code_verifier: str, client_id: str) -> TokenPair:
    """Trade a code for a session. Raises OAuthError ``invalid_grant`` when the code is
    unknown, expired, already used (that session is revoked), issued for another
    redirect URI or client, or the verifier does not match its challenge."""
    row = session.get(AuthorizationCode, token_hash(code))
    if row is None:
        raise OAuthError("invalid_grant", "The authorization code is not valid.")
    now = utcnow()
    claimed = session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == row.code_hash,
               AuthorizationCode.used_at.is_(None))
        .values(used_at=now)).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        if row.session_id is not None:
            revoke_session(session, row.session_id, "code_replay")
        raise OAuthError("invalid_grant", "The authorization code was already used.")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "The authorization code has expired.")
    if row.redirect_uri != redirect_uri or row.client_id != client_id:
        raise OAuthError("invalid_grant",
                         "redirect_uri or client_id differs from the authorization request.")
    if not pkce_s256_matches(code_verifier, row.code_challenge):
        raise OAuthError("invalid_grant", "The code_verifier does not match the challenge.")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise OAuthError("invalid_grant", "The account is disabled.")
    pair = start_session(session, settings, user_id=row.user_id, scope=row.scope,
                         auth_method="authorization_code")
    row.session_id = pair.session_id
    return pair


@dataclass(frozen=True)
class DeviceAuthorization:
    """RFC 8628 §3.2 response (``verification_uri`` is filled in by the HTTP layer)."""

    device_code: str
    user_code: str
    expires_in: int
    interval: int


def start_device(session: Session, settings: Settings, *, client_id: str,
                 scope: str) -> DeviceAuthorization:
    """A new pending device code; long-expired codes are swept out on the way."""
    now = utcnow()
    session.execute(delete(DeviceCode).where(DeviceCode.expires_at < now - timedelta(days=1)))
    device_code = new_token()
    for _ in range(5):
        user_code = new_user_code()
        try:
            with session.begin_nested():
                session.add(DeviceCode(
                    device_code_hash=token_hash(device_code), user_code=user_code,
                    client_id=client_id, scope=scope, status="pending",
                    interval=settings.device_poll_interval,
                    expires_at=now + settings.device_code_ttl))
            break
        except IntegrityError:  # pragma: no cover - a 1 in 25 billion collision
            continue
    return DeviceAuthorization(device_code=device_code, user_code=user_code,
                               expires_in=int(settings.device_code_ttl.total_seconds()),
                               interval=settings.device_poll_interval)


def decide_device(session: Session, user_code: str, user: User | None, *,
                  approve: bool) -> None:
    """Approve or deny a pending device code on behalf of ``user`` (``None``: an
    operator denying it; an approval always names the user it signs in).

    Raises HubError ``DEVICE_CODE_INVALID`` (unknown, expired or already decided)."""
    if approve and user is None:
        raise ValueError("an approval signs a user in: user is required")
    now = utcnow()
    decided = session.execute(
        update(DeviceCode)
        .where(DeviceCode.user_code == normalize_user_code(user_code),
               DeviceCode.status == "pending", DeviceCode.expires_at > now)
        .values(status="approved" if approve else "denied",
                user_id=user.id if user is not None else None)
    ).rowcount  # type: ignore[attr-defined]
    if decided != 1:
        raise HubError("That code is not valid: it may have expired or been used already.",
                       "DEVICE_CODE_INVALID")


# Wrong user codes a signed-in person may enter per ``Settings.login_window`` (RFC 8628
# §5.1: without a limit, an account could approve guessed codes and sign other people's
# CLIs in to it). Approving a right code does not reset the count, or guessers would.
DEVICE_GUESS_LIMIT = 10
DEVICE_GUESS_SCOPE = "device_guess"


def device_guessing_blocked(session: Session, settings: Settings, user_id: int) -> bool:
    """Whether ``user_id`` entered ``DEVICE_GUESS_LIMIT`` wrong user codes within the
    sign-in window (then even a right code is refused until the window moves on)."""
    since = utcnow() - settings.login_window
    failures = session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.scope == DEVICE_GUESS_SCOPE, LoginFailure.key == str(user_id),
        LoginFailure.created_at > since)) or 0
    return failures >= DEVICE_GUESS_LIMIT


def record_device_guess(session: Session, user_id: int) -> None:
    """Count one wrong user code entered by ``user_id`` (swept with sign-in failures)."""
    session.add(LoginFailure(scope=DEVICE_GUESS_SCOPE, key=str(user_id), created_at=utcnow()))


def poll_device(session: Session, settings: Settings, *, device_code: str,
                client_id: str) -> TokenPair:
    """The device-code grant. Raises OAuthError: ``authorization_pending``,
    ``slow_down`` (polled faster than the interval; the interval grows by 5 s),
    ``access_denied``, ``expired_token``, ``invalid_grant`` (unknown or used code)."""
    row = session.get(DeviceCode, token_hash(device_code))
    if row is None or row.client_id != client_id or row.status == "consumed":
        raise OAuthError("invalid_grant", "The device code is not valid.")
    now = utcnow()
    if row.expires_at <= now:
        raise OAuthError("expired_token", "The device code has expired; start again.")
    if row.status == "denied":
        raise OAuthError("access_denied", "The request was denied.")
    if row.status == "pending":
        # Clocks and schedulers jitter: a poll slightly early (up to a second, or half
        # the interval when it is that short) still counts as on time.
        slack = min(1.0, row.interval / 2)
        too_fast = (row.last_polled_at is not None
                    and now - row.last_polled_at < timedelta(seconds=row.interval - slack))
        row.last_polled_at = now
        if too_fast:
            row.interval += 5
            raise OAuthError("slow_down", f"Poll at most every {row.interval} seconds.")
        raise OAuthError("authorization_pending", "The user has not approved yet.")
    consumed = session.execute(
        update(DeviceCode)
        .where(DeviceCode.device_code_hash == row.device_code_hash,
               DeviceCode.status == "approved")
        .values(status="consumed", last_polled_at=now)).rowcount  # type: ignore[attr-defined]
    if consumed != 1 or row.user_id is None:
        raise OAuthError("invalid_grant", "The device code is not valid.")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise OAuthError("access_denied", "The account is disabled.")
    return start_session(session, settings, user_id=row.user_id, scope=row.scope,
                         auth_method="device_code")


def describe_device(session: Session, user_code: str) -> DeviceCode | None:
    """The pending, unexpired device code a person typed, if any."""
    return session.scalar(select(DeviceCode).where(
        DeviceCode.user_code == normalize_user_code(user_code),
        DeviceCode.status == "pending", DeviceCode.expires_at > utcnow()))
