"""The OAuth pages a person sees: consent for ``/oauth/authorize`` and ``/device``.

Authorization requests are validated per RFC 6749 §4.1.2.1: a bad ``client_id`` or a
``redirect_uri`` that is not loopback (RFC 8252 §7.3) is shown as an error page and
never redirected to; every other error is sent back to the client's redirect URI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from spec_kitty_hub.api.deps import DatabaseDep, SettingsDep
from spec_kitty_hub.api.oauth_endpoints import check_scope
from spec_kitty_hub.api.pages_signin import login_redirect
from spec_kitty_hub.api.web import csrf_failure, csrf_ok, current_user, redirect, render
from spec_kitty_hub.db.models import User
from spec_kitty_hub.errors import HubError, OAuthError
from spec_kitty_hub.security import is_loopback_redirect, is_valid_challenge
from spec_kitty_hub.services import grants
from spec_kitty_hub.services.tokens import CLIENT_ID

router = APIRouter(tags=["oauth"])
OptionalForm = Annotated[str | None, Form()]
PAGE: dict[str, object] = {"content": {"text/html": {}}}


@dataclass(frozen=True)
class AuthorizeRequest:
    redirect_uri: str
    state: str | None
    code_challenge: str
    scope: str


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _back_to_client(redirect_uri: str, params: dict[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}")


def _validate(request: Request, client_id: str | None, redirect_uri: str | None,
              response_type: str | None, code_challenge: str | None,
              code_challenge_method: str | None, scope: str | None,
              state: str | None) -> AuthorizeRequest:
    if client_id != CLIENT_ID or not redirect_uri or not is_loopback_redirect(redirect_uri):
        what = ("client_id" if client_id != CLIENT_ID else "redirect_uri")
        raise _Refused(render(request, "error.html", {
            "title": "Invalid sign-in request",
            "message": f"The {what} of this request is not accepted: only the spec-kitty "
                       "CLI with a loopback redirect (http://127.0.0.1:PORT/…) can sign "
                       "in here."}, status_code=400))

    def fail(error: str, description: str) -> _Refused:
        return _Refused(_back_to_client(redirect_uri, {
            "error": error, "error_description": description, "state": state}))

    if response_type != "code":
        raise fail("unsupported_response_type", "response_type must be code.")
    if code_challenge_method != "S256" or not code_challenge \
            or not is_valid_challenge(code_challenge):
        raise fail("invalid_request", "PKCE is required: code_challenge with "
                                      "code_challenge_method=S256.")
    try:
        granted = check_scope(scope)
    except OAuthError as error:
        raise fail(error.error, error.description) from None
    return AuthorizeRequest(redirect_uri=redirect_uri, state=state,
                            code_challenge=code_challenge, scope=granted)


@router.get("/oauth/authorize", response_class=HTMLResponse,
            responses={303: {"description": "To sign-in, or back to the client"},
                       400: {"description": "Invalid client or redirect URI", **PAGE}})
def authorize(request: Request, client_id: str | None = None,
              redirect_uri: str | None = None, response_type: str | None = None,
              code_challenge: str | None = None, code_challenge_method: str | None = None,
              scope: str | None = None, state: str | None = None) -> Response:
    """Authorization endpoint (RFC 6749 §4.1.1 with PKCE S256): sign in, then consent."""
    try:
        _validate(request, client_id, redirect_uri, response_type, code_challenge,
                  code_challenge_method, scope, state)
    except _Refused as refused:
        return refused.response
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    return render(request, "consent.html", {"user": user, "params": {
        "client_id": client_id, "redirect_uri": redirect_uri,
        "response_type": response_type, "code_challenge": code_challenge,
        "code_challenge_method": code_challenge_method, "scope": scope or "",
        "state": state or ""}, "redirect_uri": redirect_uri})


@router.post("/oauth/authorize", include_in_schema=False)
def authorize_decision(
    request: Request, db: DatabaseDep, settings: SettingsDep,
    client_id: OptionalForm = None, redirect_uri: OptionalForm = None,
    response_type: OptionalForm = None, code_challenge: OptionalForm = None,
    code_challenge_method: OptionalForm = None, scope: OptionalForm = None,
    state: OptionalForm = None, decision: OptionalForm = None,
    csrf_token: OptionalForm = None,
) -> Response:
    if not csrf_ok(request, csrf_token):
        return csrf_failure(request)
    try:
        valid = _validate(request, client_id, redirect_uri, response_type, code_challenge,
                          code_challenge_method, scope, state or None)
    except _Refused as refused:
        return refused.response
    user = current_user(request)
    if user is None:
        return redirect("/login")
    if decision != "approve":
        return _back_to_client(valid.redirect_uri, {
            "error": "access_denied", "error_description": "The user declined.",
            "state": valid.state})
    with db.write() as session:
        code = grants.issue_code(session, settings, user_id=user.id,
                                 redirect_uri=valid.redirect_uri,
                                 code_challenge=valid.code_challenge, scope=valid.scope,
                                 client_id=CLIENT_ID)
    return _back_to_client(valid.redirect_uri, {"code": code, "state": valid.state})


@router.get("/device", include_in_schema=False)
def device_page(request: Request, user_code: str | None = None) -> Response:
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    return render(request, "device.html", {"user": user, "user_code": user_code or "",
                                           "error": None})


@router.post("/device", include_in_schema=False)
def device_decision(request: Request, db: DatabaseDep, settings: SettingsDep,
                    user_code: OptionalForm = None,
                    decision: OptionalForm = None,
                    csrf_token: OptionalForm = None) -> Response:
    if not csrf_ok(request, csrf_token):
        return csrf_failure(request)
    user = current_user(request)
    if user is None:
        return redirect("/login?next=/device")
    return _decide(request, db, settings, user, user_code or "",
                   approve=decision == "approve")


def _decide(request: Request, db: DatabaseDep, settings: SettingsDep, user: User,
            user_code: str, *, approve: bool) -> Response:
    with db.read() as session:
        blocked = grants.device_guessing_blocked(session, settings, user.id)
    if blocked:
        return render(request, "device.html", {
            "user": user, "user_code": user_code,
            "error": "Too many wrong codes. Wait a few minutes and try again."},
            status_code=429)
    try:
        with db.write() as session:
            grants.decide_device(session, user_code, user, approve=approve)
    except HubError as error:
        with db.write() as session:
            grants.record_device_guess(session, user.id)
        return render(request, "device.html", {"user": user, "user_code": user_code,
                                               "error": error.message}, status_code=400)
    return render(request, "device_done.html", {"user": user, "approved": approve})
