"""The use cases behind ``spec-kitty auth login`` and ``spec-kitty auth logout``.

Login: gate and hub URL first (readiness without auth), then the chosen flow, then
``GET /api/v1/me`` (a user without a team cannot log in), then the session is written
under the session lock. An existing session is kept unless ``force`` is given or it
belongs to another hub or cannot be refreshed any more; a replaced session's refresh
token is revoked afterwards (best effort). A ``switch_guard`` (the sync layer's
account-switch guard) is consulted before the flow with the hub URL and after
``/api/v1/me`` with the new session; if it raises, the new grant is revoked and
nothing is saved.

Logout: the local session is always removed (under the lock); revoking its refresh token
on the hub is best effort with a 5 s timeout and reported, never fatal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from spec_kitty.auth.errors import HubError, SessionFileError
from spec_kitty.auth.oauth import DeviceAuthorization, OAuthClient
from spec_kitty.auth.session import BROWSER, DEVICE, Session, utc_now
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths

Method = Literal["browser", "device"]
# (existing session or None, hub URL of this login, new session or None before the flow)
SwitchGuard = Callable[[Session | None, str, Session | None], None]


@dataclass(frozen=True)
class LoginUI:
    """How the flows talk to the person: show the authorize URL, or the device code."""

    show_authorize_url: Callable[[str, bool], None]
    show_device_code: Callable[[DeviceAuthorization], None]


@dataclass(frozen=True)
class LoginResult:
    session: Session
    already_logged_in: bool
    replaced_revoked: bool | None = None


def login(method: Method, ui: LoginUI, *, force: bool = False, open_browser: bool = True,
          paths: RuntimePaths | None = None,
          oauth_factory: Callable[[str], OAuthClient] = OAuthClient,
          switch_guard: SwitchGuard | None = None) -> LoginResult:
    """Log in to the configured hub; see the module docstring.

    Raises ``NotReady`` (gate off, no hub URL), ``LoginFailed``, ``OAuthError``,
    ``HubError`` (unreachable, bad answer, no team) and ``SessionFileError`` (an
    existing session file that is refused, unless ``force``).
    """
    from spec_kitty.hosted.readiness import evaluate_readiness

    paths = paths or RuntimePaths.current()
    readiness = evaluate_readiness(paths=paths, require_auth=False)
    readiness.raise_unless_ready()
    server_url = readiness.details["server_url"]
    store = SessionStore(paths)
    try:
        existing = store.load()
    except SessionFileError:
        if not force:
            raise
        existing = None
    if existing is not None and not existing.server_url:  # written by the published CLI
        existing = dataclasses.replace(existing, server_url=server_url)
    if (existing is not None and not force and existing.server_url == server_url
            and existing.refresh_usable(utc_now())):
        return LoginResult(existing, already_logged_in=True)
    if switch_guard is not None:
        switch_guard(existing, server_url, None)
    with oauth_factory(server_url) as oauth:
        if method == "device":
            from spec_kitty.auth.device import device_login

            grant = device_login(oauth, ui.show_device_code)
        else:
            from spec_kitty.auth.browser import browser_login

            grant = browser_login(oauth, ui.show_authorize_url, open_browser=open_browser)
        try:
            identity = oauth.me(grant.access_token)
        except HubError:
            _revoke_quietly(oauth, grant.refresh_token)
            raise
        session = Session.create(server_url, grant, identity,
                                 DEVICE if method == "device" else BROWSER, utc_now())
        if switch_guard is not None:
            try:
                switch_guard(existing, server_url, session)
            except BaseException:
                _revoke_quietly(oauth, grant.refresh_token)
                raise
        with store.lock():
            store.save(session)
    revoked = None
    if existing is not None and existing.session_id != session.session_id:
        with oauth_factory(existing.server_url) as old_hub:
            revoked = _revoke_quietly(old_hub, existing.refresh_token)
    return LoginResult(session, already_logged_in=False, replaced_revoked=revoked)


@dataclass(frozen=True)
class LogoutResult:
    was_logged_in: bool
    session: Session | None
    revoked: bool | None
    revoke_error: str | None


def logout(paths: RuntimePaths | None = None,
           oauth_factory: Callable[[str], OAuthClient] = OAuthClient) -> LogoutResult:
    """Remove the local session (always) and revoke it on the hub (best effort)."""
    store = SessionStore(paths)
    with store.lock():
        try:  # a file others could read is read anyway: that session must be revoked
            session = store.load(for_revocation=True)
        except SessionFileError:
            session = None  # unreadable: still remove it
        removed = store.delete()
    if session is None:
        return LogoutResult(removed, None, None, None)
    try:
        with oauth_factory(session.server_url) as oauth:
            oauth.revoke(session.refresh_token)
    except HubError as exc:
        return LogoutResult(True, session, False, exc.message)
    return LogoutResult(True, session, True, None)


def _revoke_quietly(oauth: OAuthClient, refresh_token: str) -> bool:
    try:
        oauth.revoke(refresh_token)
    except HubError:
        return False
    return True
