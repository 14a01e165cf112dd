"""Headless login: the OAuth 2.0 Device Authorization Grant (RFC 8628).

``POST /oauth/device`` gives a user code and a verification URL, which ``announce``
shows; then ``POST /oauth/token`` is polled every ``interval`` seconds (the hub's value):
``authorization_pending`` waits, ``slow_down`` adds 5 s to the interval (RFC 8628 §3.5),
``access_denied`` and ``expired_token`` end the flow, as does the code's own expiry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from spec_kitty.auth.errors import LoginFailed
from spec_kitty.auth.oauth import DeviceAuthorization, OAuthClient, OAuthError
from spec_kitty.auth.session import TokenGrant

SLOW_DOWN_STEP_SECONDS = 5.0
DEFAULT_INTERVAL_SECONDS = 5.0


def device_login(oauth: OAuthClient, announce: Callable[[DeviceAuthorization], None], *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> TokenGrant:
    """Run the flow; raises :class:`LoginFailed` (``LOGIN_DENIED``, ``LOGIN_EXPIRED``)."""
    grant = oauth.start_device()
    announce(grant)
    interval = grant.interval if grant.interval > 0 else DEFAULT_INTERVAL_SECONDS
    deadline = clock() + grant.expires_in
    while True:
        sleep(interval)
        if clock() >= deadline:
            raise _expired()
        try:
            return oauth.poll_device(grant.device_code)
        except OAuthError as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":
                interval += SLOW_DOWN_STEP_SECONDS
                continue
            if exc.error == "access_denied":
                raise LoginFailed("The login was denied on the hub.", "LOGIN_DENIED") from None
            if exc.error == "expired_token":
                raise _expired() from None
            raise


def _expired() -> LoginFailed:
    return LoginFailed("The login code expired before it was approved.", "LOGIN_EXPIRED",
                       hint="Run `spec-kitty auth login --headless` again.")
