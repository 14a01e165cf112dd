"""Browser login: OAuth 2.0 Authorization Code with PKCE S256 and a loopback redirect.

1. bind the loopback receiver (:mod:`.loopback`) to learn the redirect URI;
2. hand the authorize URL to ``announce`` and, unless told not to, to the browser;
3. wait up to 300 s for the callback with our ``state``;
4. exchange the code with the verifier at ``POST /oauth/token``.
"""

from __future__ import annotations

from collections.abc import Callable

from spec_kitty.auth.errors import LoginFailed
from spec_kitty.auth.loopback import LOGIN_TIMEOUT_SECONDS, PREFERRED_PORTS, LoopbackReceiver
from spec_kitty.auth.oauth import OAuthClient
from spec_kitty.auth.pkce import PkcePair
from spec_kitty.auth.session import TokenGrant

Announce = Callable[[str, bool], None]
"""Called with the authorize URL and whether a browser was opened for it."""


def open_in_browser(url: str) -> bool:
    """Ask the desktop to open ``url``; ``False`` when there is no usable browser."""
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def browser_login(oauth: OAuthClient, announce: Announce, *, open_browser: bool = True,
                  timeout: float = LOGIN_TIMEOUT_SECONDS,
                  ports: range = PREFERRED_PORTS,
                  opener: Callable[[str], bool] = open_in_browser) -> TokenGrant:
    """Run the flow; raises :class:`LoginFailed` (``LOGIN_TIMEOUT``, ``LOGIN_DENIED``)
    or the hub's :class:`~spec_kitty.auth.oauth.OAuthError` from the code exchange."""
    pkce = PkcePair.new()
    receiver = LoopbackReceiver(pkce.state_matches, ports)
    redirect_uri = receiver.redirect_uri
    try:
        url = oauth.authorize_url(redirect_uri=redirect_uri,
                                  code_challenge=pkce.challenge, state=pkce.state)
        opened = opener(url) if open_browser else False
        announce(url, opened)
        callback = receiver.wait(timeout)
    finally:
        receiver.close()
    if callback is None:
        raise LoginFailed(f"No answer from the browser within {timeout:g} seconds.",
                          "LOGIN_TIMEOUT",
                          hint="Run `spec-kitty auth login` again, or use --headless.")
    if callback.code is None:
        reason = callback.error_description or callback.error or "unknown reason"
        raise LoginFailed(f"The hub did not authorise this login: {reason}.", "LOGIN_DENIED")
    return oauth.exchange_code(code=callback.code, redirect_uri=redirect_uri,
                               code_verifier=pkce.verifier)
