"""The OAuth 2.0 endpoints of the public client ``cli_native`` (JSON, form-encoded in).

``POST /oauth/token`` (RFC 6749 §4.1.3, §6; RFC 8628 §3.4), ``POST /oauth/device``
(RFC 8628 §3.1), ``POST /oauth/revoke`` (RFC 7009). Errors are RFC 6749 §5.2 bodies
``{"error", "error_description"}``; the CLI contract is in
/work/shared/reference/sync-subsystem.md §3.2 and §(a).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from spec_kitty_hub.api.deps import DatabaseDep, SettingsDep, public_base_url
from spec_kitty_hub.errors import OAuthError
from spec_kitty_hub.services import grants, tokens
from spec_kitty_hub.services.tokens import CLIENT_ID, DEFAULT_SCOPE, TokenPair

router = APIRouter(tags=["oauth"])
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthErrorBody(BaseModel):
    error: str
    error_description: str


class TokenResponse(BaseModel):
    """Lifetimes in seconds; ``refresh_token_expires_at`` is ISO 8601 UTC."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_token: str
    refresh_token_expires_in: int
    refresh_token_expires_at: datetime
    scope: str
    session_id: str
    generation: int


class DeviceResponse(BaseModel):
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class RevokeResponse(BaseModel):
    revoked: bool


ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"},
    401: {"model": OAuthErrorBody, "description": "invalid_client"},
}
OptionalForm = Annotated[str | None, Form()]


def oauth_error_response(error: OAuthError) -> JSONResponse:
    return JSONResponse({"error": error.error, "error_description": error.description},
                        status_code=error.status, headers=NO_STORE)


def _require(value: str | None, name: str) -> str:
    if not value:
        raise OAuthError("invalid_request", f"The {name} parameter is required.")
    return value


def _check_client(client_id: str | None, *, required: bool) -> None:
    if client_id is None and not required:
        return
    if client_id != CLIENT_ID:
        raise OAuthError("invalid_client", f"Unknown client; this hub serves {CLIENT_ID}.",
                         status=401)


def _token_body(pair: TokenPair) -> JSONResponse:
    body = TokenResponse(
        access_token=pair.access_token, token_type="Bearer", expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_token_expires_in=pair.refresh_token_expires_in,
        refresh_token_expires_at=pair.refresh_token_expires_at, scope=pair.scope,
        session_id=pair.session_id, generation=pair.generation)
    return JSONResponse(body.model_dump(mode="json"), headers=NO_STORE)


@router.post("/oauth/token", response_model=TokenResponse, responses=ERRORS)
def token(
    db: DatabaseDep, settings: SettingsDep,
    grant_type: OptionalForm = None, code: OptionalForm = None,
    redirect_uri: OptionalForm = None, client_id: OptionalForm = None,
    code_verifier: OptionalForm = None, refresh_token: OptionalForm = None,
    device_code: OptionalForm = None, scope: OptionalForm = None,
) -> JSONResponse:
    """Exchange a grant for tokens: ``authorization_code`` (PKCE S256 verifier
    required), ``urn:ietf:params:oauth:grant-type:device_code`` or ``refresh_token``
    (rotation; a replayed refresh token revokes the session)."""
    try:
        grant = _require(grant_type, "grant_type")
        if grant not in ("authorization_code", "refresh_token", DEVICE_GRANT):
            raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant!r}.")
        _check_client(client_id, required=grant != "refresh_token")
        # Errors raised inside the unit of work are caught inside it, so what they
        # record (a revoked session after a replay, a poll time) is committed.
        failure: OAuthError | None = None
        with db.write() as session:
            try:
                if grant == "authorization_code":
                    pair = grants.exchange_code(
                        session, settings, code=_require(code, "code"),
                        redirect_uri=_require(redirect_uri, "redirect_uri"),
                        code_verifier=_require(code_verifier, "code_verifier"),
                        client_id=CLIENT_ID)
                elif grant == "refresh_token":
                    pair = tokens.refresh(session, settings,
                                          _require(refresh_token, "refresh_token"))
                else:
                    pair = grants.poll_device(session, settings,
                                              device_code=_require(device_code, "device_code"),
                                              client_id=CLIENT_ID)
            except OAuthError as error:
                failure = error
        if failure is not None:
            raise failure
        return _token_body(pair)
    except OAuthError as error:
        return oauth_error_response(error)


@router.post("/oauth/device", response_model=DeviceResponse, responses=ERRORS)
def device_authorization(request: Request, db: DatabaseDep, settings: SettingsDep,
                         client_id: OptionalForm = None,
                         scope: OptionalForm = None) -> JSONResponse:
    """Start the device flow (RFC 8628 §3.1-3.2); the user approves at ``/device``."""
    try:
        _check_client(client_id, required=True)
        granted = check_scope(scope)
    except OAuthError as error:
        return oauth_error_response(error)
    with db.write() as session:
        started = grants.start_device(session, settings, client_id=CLIENT_ID, scope=granted)
    verification = f"{public_base_url(request)}/device"
    body = DeviceResponse(
        device_code=started.device_code, user_code=started.user_code,
        verification_uri=verification,
        verification_uri_complete=f"{verification}?user_code={started.user_code}",
        expires_in=started.expires_in, interval=started.interval)
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@router.post("/oauth/revoke", response_model=RevokeResponse, responses=ERRORS)
def revoke(db: DatabaseDep, token: OptionalForm = None, token_type_hint: OptionalForm = None,
           client_id: OptionalForm = None) -> JSONResponse:
    """Revoke the session of a refresh or access token (RFC 7009 §2); unknown tokens
    also answer ``{"revoked": true}``, as §2.2 requires."""
    try:
        _check_client(client_id, required=False)
        value = _require(token, "token")
    except OAuthError as error:
        return oauth_error_response(error)
    with db.write() as session:
        tokens.revoke(session, value)
    return JSONResponse({"revoked": True}, headers=NO_STORE)


def check_scope(scope: str | None) -> str:
    """The granted scope for a request; OAuthError ``invalid_scope`` beyond
    ``offline_access``."""
    requested = set((scope or DEFAULT_SCOPE).split())
    if not requested <= {DEFAULT_SCOPE}:
        raise OAuthError("invalid_scope", f"Only the {DEFAULT_SCOPE} scope is offered.")
    return DEFAULT_SCOPE

