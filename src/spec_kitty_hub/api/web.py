"""What every HTML page shares: templates, the sign-in cookie, CSRF.

CSRF is a signed double submit: a random ``hub_csrf`` cookie, and in each form the
HMAC of that value under the database-held key. Any hub process can check it.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from spec_kitty_hub.api.deps import get_db, get_settings
from spec_kitty_hub.db.models import User
from spec_kitty_hub.services.signin import csrf_token, web_session_user

SESSION_COOKIE = "hub_session"
CSRF_COOKIE = "hub_csrf"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
# Pages are never framed, never cached and never leak their URL (which may hold a
# device code or an OAuth state) to another origin.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def current_user(request: Request) -> User | None:
    """The signed-in browser user (session cookie), or None. Team pages reuse this."""
    with get_db(request).read() as session:
        return web_session_user(session, request.cookies.get(SESSION_COOKIE))


def _secure(request: Request) -> bool:
    settings = get_settings(request)
    base = settings.public_url or str(request.base_url)
    return base.startswith("https://")


def render(request: Request, template: str, context: dict[str, Any],
           status_code: int = 200) -> HTMLResponse:
    """Render a page with a CSRF token, (re)setting the CSRF cookie when missing."""
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = cookie is None or len(cookie) < 32
    if fresh:
        cookie = secrets.token_urlsafe(32)
    assert cookie is not None
    key = request.app.state.csrf_key
    response = TEMPLATES.TemplateResponse(
        request, template, {**context, "csrf_token": csrf_token(key, cookie)},
        status_code=status_code, headers=PAGE_HEADERS)
    if fresh:
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax",
                            secure=_secure(request), path="/")
    return response


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    expected = csrf_token(request.app.state.csrf_key, cookie)
    return hmac.compare_digest(expected, submitted)


def csrf_failure(request: Request) -> HTMLResponse:
    return render(request, "error.html", {
        "title": "Form expired",
        "message": "This form has expired or did not come from this hub. Go back, reload "
                   "the page and try again."}, status_code=403)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    ttl = get_settings(request).web_session_ttl
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=_secure(request), path="/",
                        max_age=int(ttl.total_seconds()))


def safe_next(target: str | None) -> str:
    """A same-origin path to return to after sign-in; anything else becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
