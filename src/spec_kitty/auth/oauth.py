"""The hub's OAuth 2.0 and identity endpoints as typed calls (public client ``cli_native``).

Wire contract (sync-subsystem reference §3.2 and §(a); RFC 6749, 7636, 7009, 8628):

- ``GET  /oauth/authorize``: built here, opened by the browser flow
- ``POST /oauth/token``: form-encoded; grants ``authorization_code`` (with
  ``code_verifier``), ``refresh_token`` and the device-code grant; answers
  ``access_token, refresh_token, expires_in, session_id`` (+ optional
  ``refresh_token_expires_at|_in, scope, generation``) or an RFC error body
  ``{"error", "error_description"}``
- ``POST /oauth/device``: ``client_id, scope`` → ``device_code, user_code,
  verification_uri[, verification_uri_complete], expires_in (900), interval (5)``
- ``POST /oauth/revoke``: ``token, token_type_hint=refresh_token``
- ``GET  /api/v1/me``: bearer → :class:`~spec_kitty.auth.session.Identity`

Secrets travel only in form bodies and the ``Authorization`` header, never in a URL,
and no method here logs anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from spec_kitty import __version__
from spec_kitty.auth.errors import HubError
from spec_kitty.auth.session import Identity, TokenGrant, utc_now

if TYPE_CHECKING:
    import httpx

CLIENT_ID = "cli_native"
SCOPE = "offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
HTTP_TIMEOUT_SECONDS = 10.0
USER_AGENT = f"spec-kitty/{__version__}"


class OAuthError(HubError):
    """An RFC 6749 error answer: ``error`` is the wire code (``invalid_grant``, ...)."""

    def __init__(self, error: str, description: str, status: int,
                 retry_after: float | None = None) -> None:
        text = f"The hub refused the request: {error}"
        if description:
            text += f" ({description})"
        super().__init__(text, "OAUTH_" + error.upper(),
                         details={"oauth_error": error, "http_status": status})
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class DeviceAuthorization:
    """RFC 8628 §3.2 answer; ``interval`` and ``expires_in`` are seconds."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


def new_http_client(server_url: str, timeout: float = HTTP_TIMEOUT_SECONDS,
                    transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An ``httpx.Client`` for ``server_url``: no redirects, our User-Agent."""
    import httpx

    return httpx.Client(base_url=server_url, timeout=timeout, follow_redirects=False,
                        headers={"User-Agent": USER_AGENT}, transport=transport)


def unreachable(server_url: str, exc: Exception) -> HubError:
    return HubError(f"Cannot reach the hub at {server_url}: {exc or type(exc).__name__}.",
                    "HUB_UNREACHABLE", details={"server_url": server_url},
                    hint="Check that the hub is running and the URL is right "
                         "(`spec-kitty auth doctor`).")


class OAuthClient:
    """Calls against one hub. Use as a context manager (closes the HTTP connections)."""

    def __init__(self, server_url: str, *, http: httpx.Client | None = None) -> None:
        self.server_url = server_url
        self._http = http or new_http_client(server_url)

    def __enter__(self) -> OAuthClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- endpoints --------------------------------------------------------------------

    def authorize_url(self, *, redirect_uri: str, code_challenge: str, state: str) -> str:
        query = urlencode({"response_type": "code", "client_id": CLIENT_ID, "scope": SCOPE,
                           "redirect_uri": redirect_uri, "code_challenge": code_challenge,
                           "code_challenge_method": "S256", "state": state})
        return f"{self.server_url}/oauth/authorize?{query}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenGrant:
        return self._token({"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect_uri, "client_id": CLIENT_ID,
                            "code_verifier": code_verifier})

    def start_device(self) -> DeviceAuthorization:
        data = self._post_form("/oauth/device", {"client_id": CLIENT_ID, "scope": SCOPE})
        try:
            expires_in = float(data.get("expires_in") or 900)
            interval = float(data.get("interval") or 5)
            return DeviceAuthorization(str(data["device_code"]), str(data["user_code"]),
                                       str(data["verification_uri"]),
                                       data.get("verification_uri_complete") or None,
                                       expires_in, interval)
        except (KeyError, TypeError, ValueError):
            raise HubError("The hub's device authorization answer is unusable.",
                           "HUB_BAD_RESPONSE") from None

    def poll_device(self, device_code: str) -> TokenGrant:
        """One poll; pending/slow_down/denied/expired arrive as :class:`OAuthError`."""
        return self._token({"grant_type": DEVICE_GRANT, "device_code": device_code,
                            "client_id": CLIENT_ID})

    def refresh(self, refresh_token: str, *, timeout: float | None = None) -> TokenGrant:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token,
                            "client_id": CLIENT_ID}, timeout=timeout)

    def revoke(self, refresh_token: str, *, timeout: float = 5.0) -> None:
        self._post_form("/oauth/revoke", {"token": refresh_token,
                                          "token_type_hint": "refresh_token",
                                          "client_id": CLIENT_ID}, timeout=timeout)

    def me(self, access_token: str) -> Identity:
        import httpx

        try:
            response = self._http.get("/api/v1/me",
                                      headers={"Authorization": f"Bearer {access_token}"})
        except httpx.TransportError as exc:
            raise unreachable(self.server_url, exc) from None
        return Identity.from_json(self._json(response))

    # -- plumbing ---------------------------------------------------------------------

    def _token(self, form: dict[str, str], *, timeout: float | None = None) -> TokenGrant:
        now: datetime = utc_now()
        return TokenGrant.from_json(self._post_form("/oauth/token", form, timeout=timeout), now)

    def _post_form(self, path: str, form: dict[str, str], *,
                   timeout: float | None = None) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.post(path, data=form, headers={"Accept": "application/json"},
                                       timeout=timeout or httpx.USE_CLIENT_DEFAULT)
        except httpx.TransportError as exc:
            raise unreachable(self.server_url, exc) from None
        return self._json(response)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict):
            return data
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            retry_after = data.get("retry_after")
            raise OAuthError(data["error"], str(data.get("error_description") or ""),
                             response.status_code,
                             float(retry_after) if isinstance(retry_after, int | float)
                             else None)
        if isinstance(data, dict) and isinstance(data.get("detail"), str):
            raise HubError(f"The hub answered {response.status_code}: {data['detail']}.",
                           "HUB_ERROR", details={"http_status": response.status_code})
        raise HubError(f"The hub answered {response.status_code} "
                       f"{response.reason_phrase or ''} to {response.request.url.path}.".strip(),
                       "HUB_BAD_RESPONSE", details={"http_status": response.status_code})
