"""Sign-in, sign-out and the home page (HTML)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from spec_kitty_hub.api.deps import DatabaseDep, SettingsDep, client_address
from spec_kitty_hub.api.web import (
    SESSION_COOKIE,
    csrf_failure,
    csrf_ok,
    current_user,
    redirect,
    render,
    safe_next,
    set_session_cookie,
)
from spec_kitty_hub.services.accounts import teams_of
from spec_kitty_hub.services.signin import close_web_session, open_web_session, sign_in

router = APIRouter(include_in_schema=False)
OptionalForm = Annotated[str | None, Form()]


def login_redirect(request: Request) -> Response:
    """Send an anonymous visitor to sign in, then back to this exact page."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(here, safe='')}")


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if current_user(request) is not None:
        return redirect(safe_next(next))
    return render(request, "login.html", {"next": safe_next(next), "email": "",
                                          "error": None})


@router.post("/login")
def login_submit(request: Request, db: DatabaseDep, settings: SettingsDep,
                 email: OptionalForm = None, password: OptionalForm = None,
                 csrf_token: OptionalForm = None, next: OptionalForm = None) -> Response:
    target = safe_next(next)
    if not csrf_ok(request, csrf_token):
        return csrf_failure(request)
    if not email or not password:
        return render(request, "login.html", {
            "next": target, "email": email or "",
            "error": "Enter your email and password."}, status_code=400)
    with db.write() as session:
        result = sign_in(session, settings, email=email, password=password,
                         address=client_address(request))
        token = open_web_session(session, settings, result.user.id) if result.user else None
    if token is None:
        return render(request, "login.html", {"next": target, "email": email,
                                              "error": result.error},
                      status_code=429 if result.rate_limited else 401)
    response = redirect(target)
    set_session_cookie(request, response, token)
    return response


@router.post("/logout")
def logout(request: Request, db: DatabaseDep, csrf_token: OptionalForm = None) -> Response:
    if not csrf_ok(request, csrf_token):
        return csrf_failure(request)
    with db.write() as session:
        close_web_session(session, request.cookies.get(SESSION_COOKIE))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, db: DatabaseDep) -> Response:
    user = current_user(request)
    if user is None:
        return login_redirect(request)
    with db.read() as session:
        teams = teams_of(session, user.id)
    return render(request, "home.html", {"user": user, "teams": teams})
