"""A usable access token for the stored session, refreshed at most once per rotation.

Every refresh runs under the machine-wide lock ``<runtime>/auth/refresh.lock`` in four
steps, so processes refreshing at the same moment never log each other out:

1. **read** the session file (inside the lock, so we see every completed rotation);
2. **decide**: if the stored access token is no longer the one that failed (or has more
   than 5 s left on a proactive refresh), another process already rotated it: adopt it;
3. **refresh** with the stored refresh token (HTTP timeout 8 s, under the 10 s lock
   timeout, so a slow hub cannot make a waiting process give up the lock queue);
4. **reconcile**: write the rotated session, or map the hub's refusal: ``invalid_grant``
   (expired, revoked or replayed refresh token) asks for a new login, ``session_invalid``
   also removes the dead session, 409 ``refresh_replay_benign_retry`` re-reads after
   ``retry_after`` (capped at 2 s) and adopts what the other writer stored.

Without step 2 the loser of a race would present an already-rotated refresh token, which
the hub treats as replay and answers by revoking the whole session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from spec_kitty.auth.errors import NotLoggedIn, ReauthRequired
from spec_kitty.auth.oauth import OAuthClient, OAuthError
from spec_kitty.auth.session import Session, utc_now
from spec_kitty.auth.storage import SessionStore

REFRESH_HTTP_TIMEOUT_SECONDS = 8.0
BENIGN_RETRY_CAP_SECONDS = 2.0


class TokenManager:
    """Hands out access tokens for one runtime root; remembers a failed refresh so a
    command (or the daemon's pass) reports it once instead of hammering the hub."""

    def __init__(self, store: SessionStore, *, server_url: str = "",
                 oauth_factory: Callable[[str], OAuthClient] = OAuthClient,
                 clock: Callable[[], datetime] = utc_now,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self._server_url = server_url
        self._oauth_factory = oauth_factory
        self._clock = clock
        self._sleep = sleep
        self._failure: ReauthRequired | None = None
        self._session: Session | None = None

    def session(self) -> Session:
        """The stored session (cached for this manager); raises :class:`NotLoggedIn`."""
        if self._session is None:
            self._session = self._load()
            if self._session is None:
                raise NotLoggedIn()
        return self._session

    def _load(self) -> Session | None:
        """The stored session; one written without a hub URL (by the published CLI)
        belongs to the hub this manager was given."""
        session = self.store.load()
        if session is not None and not session.server_url and self._server_url:
            session = replace(session, server_url=self._server_url)
        return session

    def access_token(self) -> str:
        """A token with more than 5 s left, refreshing first when needed."""
        session = self.session()
        if not session.access_usable(self._clock()):
            session = self.refresh(stale_access_token=None)
        return session.access_token

    def refresh(self, *, stale_access_token: str | None) -> Session:
        """Rotate the tokens (see the module docstring). ``stale_access_token`` is the
        token the hub just rejected, or ``None`` for a refresh ahead of expiry.

        Raises :class:`NotLoggedIn` when the session was removed meanwhile and
        :class:`ReauthRequired` when the hub refuses the refresh token.
        """
        if self._failure is not None:
            raise self._failure
        with self.store.lock():
            session = self._refresh_locked(stale_access_token)
        self._session = session
        return session

    def _refresh_locked(self, stale: str | None) -> Session:
        current = self._load()                                        # 1. read
        if current is None:
            raise NotLoggedIn("You were logged out by another spec-kitty process.")
        now = self._clock()
        rotated_elsewhere = stale is not None and current.access_token != stale
        if (rotated_elsewhere or stale is None) and current.access_usable(now):
            return current                                            # 2. decide: adopt
        if not current.refresh_usable(now):
            raise self._fail("Your hub session has expired.", "refresh_expired")
        with self._oauth_factory(current.server_url) as oauth:
            for attempt in (1, 2):
                try:                                                  # 3. refresh
                    grant = oauth.refresh(current.refresh_token,
                                          timeout=REFRESH_HTTP_TIMEOUT_SECONDS)
                    break
                except OAuthError as exc:                             # 4. reconcile
                    adopted = self._reconcile_refusal(exc, current, attempt)
                    if adopted is not None:
                        return adopted
        session = current.rotated(grant, self._clock())
        self.store.save(session)
        return session

    def _reconcile_refusal(self, exc: OAuthError, current: Session,
                           attempt: int) -> Session | None:
        if exc.error == "refresh_replay_benign_retry" and attempt == 1:
            self._sleep(min(exc.retry_after or 1.0, BENIGN_RETRY_CAP_SECONDS))
            latest = self._load()
            if latest is not None and latest.refresh_token != current.refresh_token:
                return latest
            return None  # try once more with the same token
        if exc.error == "session_invalid":
            self.store.delete()
            raise self._fail("The hub ended this session.", "session_invalid") from None
        if exc.error in ("invalid_grant", "refresh_replay_benign_retry"):
            raise self._fail("The hub no longer accepts this session (it expired or was "
                             "revoked).", exc.error) from None
        raise exc

    def _fail(self, message: str, reason: str) -> ReauthRequired:
        self._failure = ReauthRequired(message, reason=reason)
        return self._failure
