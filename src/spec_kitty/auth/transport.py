"""The one authenticated HTTP client of the hosted features (httpx transport layering).

:func:`authenticated_client` returns an ``httpx.Client`` whose transport stack is::

    httpx.Client(base_url=<session's hub>)
      └─ BearerTransport    adds ``Authorization: Bearer``, refreshes ahead of expiry,
         │                  and on a 401 refreshes once and replays the request once
         └─ httpx.HTTPTransport   the real connection pool

Sync, the daemon and tracker commands build on it and never touch tokens themselves.
Requests always go to the hub that issued the session: a request for another origin is
refused before any header is added, and a configured hub URL that differs from the
session's is an error (log in to the new hub first), so a token never leaks elsewhere.
Importing this module imports httpx (~0.15 s): import it only where a request follows.
"""

from __future__ import annotations

import httpx

from spec_kitty.auth.errors import HubError
from spec_kitty.auth.oauth import HTTP_TIMEOUT_SECONDS, USER_AGENT
from spec_kitty.auth.refresh import TokenManager
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class BearerTransport(httpx.BaseTransport):
    """Adds the bearer token; one refresh-and-retry on 401 (never more)."""

    def __init__(self, tokens: TokenManager, server_url: str,
                 inner: httpx.BaseTransport | None = None) -> None:
        self.tokens = tokens
        self._origin = _origin(httpx.URL(server_url))
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _origin(request.url) != self._origin:
            raise HubError(f"Refusing to send hub credentials to {request.url.host}.",
                           "FOREIGN_ORIGIN")
        request.read()  # buffered, so the body can be sent a second time
        token = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = self._inner.handle_request(request)
        if response.status_code != 401:
            return response
        response.close()
        session = self.tokens.refresh(stale_access_token=token)
        request.headers["Authorization"] = f"Bearer {session.access_token}"
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def authenticated_client(paths: RuntimePaths | None = None, *,
                         timeout: float = HTTP_TIMEOUT_SECONDS,
                         inner: httpx.BaseTransport | None = None) -> httpx.Client:
    """An ``httpx.Client`` for the logged-in hub (``base_url`` set, bearer handled).

    Fails closed: raises :class:`~spec_kitty.hosted.gate.HostedDisabled` when the gate
    is off, :class:`~spec_kitty.hosted.readiness.NotReady` when not logged in or no hub
    is configured, :class:`HubError` (``SERVER_MISMATCH``) when the configured hub is
    not the one the session belongs to, and session-file errors from the store. During
    requests: :class:`~spec_kitty.auth.errors.ReauthRequired` when the hub refuses the
    refresh, ``httpx.TransportError`` when it cannot be reached.
    """
    from spec_kitty.hosted import gate
    from spec_kitty.hosted.readiness import evaluate_readiness
    from spec_kitty.hosted.server import resolve_server_url

    gate.require_enabled()
    paths = paths or RuntimePaths.current()
    evaluate_readiness(paths=paths).raise_unless_ready()
    configured = resolve_server_url(paths=paths)
    tokens = TokenManager(SessionStore(paths), server_url=configured.url if configured else "")
    session = tokens.session()
    if configured is not None and configured.url != session.server_url:
        raise HubError(f"You are logged in to {session.server_url}, but the configured hub is "
                       f"{configured.url} ({configured.source}).", "SERVER_MISMATCH",
                       hint="Run `spec-kitty auth login` to log in to the configured hub.")
    return httpx.Client(base_url=session.server_url, timeout=timeout, follow_redirects=False,
                        headers={"User-Agent": USER_AGENT},
                        transport=BearerTransport(tokens, session.server_url, inner))
