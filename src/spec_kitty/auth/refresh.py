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
   also removes the dead session.

Without step 2 the loser of a race would present an already-rotated refresh token, which
the hub (past a grace window of seconds) treats as replay and answers by revoking the
whole session.

The hub (sync-subsystem reference §3.2) answers a refresh token rotated only moments ago
with HTTP 409 ``{"error": "refresh_replay_benign_retry", "retry_after": <s>}`` and no
tokens: some other client (the published CLI sharing the session file, a process that
did not take our lock) rotated it and is about to store the result. We then **release
the lock**, so that writer can finish, wait ``retry_after`` seconds (capped at 2 s),
and start again at step 1: a stored refresh token that differs from the one refused is
the rotation, adopted. After three such answers for one token we stop and ask for a new
login, without ever presenting an older token (which would be a replay).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from spec_kitty.auth.errors import NotLoggedIn, ReauthRequired
from spec_kitty.auth.oauth import OAuthClient, OAuthError
from spec_kitty.auth.session import Session, utc_now
from spec_kitty.auth.storage import SessionStore

REFRESH_HTTP_TIMEOUT_SECONDS = 8.0
BENIGN_RETRY = "refresh_replay_benign_retry"
BENIGN_RETRY_CAP_SECONDS = 2.0
BENIGN_RETRY_ATTEMPTS = 3


@dataclass(frozen=True)
class _Wait:
    """The hub answered 409 benign retry for ``refused``: wait ``seconds``, re-read."""

    refused: str = field(repr=False)
    seconds: float


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
        :class:`ReauthRequired` when the hub refuses the refresh token (or keeps
        answering benign retry for it).
        """
        if self._failure is not None:
            raise self._failure
        refused: str | None = None
        for attempt in range(1, BENIGN_RETRY_ATTEMPTS + 1):
            with self.store.lock():
                outcome = self._refresh_locked(stale_access_token, refused)
            if isinstance(outcome, Session):
                self._session = outcome
                return outcome
            if attempt == BENIGN_RETRY_ATTEMPTS:
                break
            refused = outcome.refused
            self._sleep(outcome.seconds)  # lock released: the other writer can store
        raise self._fail("Another client refreshed this session at the same moment and "
                         "its new tokens never reached this machine.", BENIGN_RETRY)

    def _refresh_locked(self, stale: str | None, refused: str | None) -> Session | _Wait:
        current = self._load()                                        # 1. read
        if current is None:
            raise NotLoggedIn("You were logged out by another spec-kitty process.")
        now = self._clock()
        if refused is not None:   # after a 409: did the other writer store its rotation?
            adopt = current.refresh_token != refused
        else:
            adopt = stale is None or current.access_token != stale
        if adopt and current.access_usable(now):
            return current                                            # 2. decide: adopt
        if not current.refresh_usable(now):
            raise self._fail("Your hub session has expired.", "refresh_expired")
        with self._oauth_factory(current.server_url) as oauth:
            try:                                                      # 3. refresh
                grant = oauth.refresh(current.refresh_token,
                                      timeout=REFRESH_HTTP_TIMEOUT_SECONDS)
            except OAuthError as exc:                                 # 4. reconcile
                if exc.error == BENIGN_RETRY:
                    return _Wait(current.refresh_token,
                                 min(exc.retry_after or 1.0, BENIGN_RETRY_CAP_SECONDS))
                raise self._refused(exc) from None
        session = current.rotated(grant, self._clock())
        self.store.save(session)
        return session

    def _refused(self, exc: OAuthError) -> Exception:
        if exc.error == "session_invalid":
            self.store.delete()
            return self._fail("The hub ended this session.", "session_invalid")
        if exc.error == "invalid_grant":
            return self._fail("The hub no longer accepts this session (it expired or was "
                              "revoked).", exc.error)
        return exc

    def _fail(self, message: str, reason: str) -> ReauthRequired:
        self._failure = ReauthRequired(message, reason=reason)
        return self._failure
