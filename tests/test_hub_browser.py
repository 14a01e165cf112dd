"""The hub's sign-in, consent and device pages in a real browser (Debian's chromium).

The browser follows the whole authorization-code flow to a loopback callback served by
this test, like the CLI's, and approves a device code on /device.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from hub_fixtures import DEVICE_GRANT, HubServer

pytestmark = pytest.mark.hub
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


class Callback:
    """A loopback redirect target, like the CLI's: records the query it receives."""

    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        received = self.queries

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                url = urlsplit(self.path)
                if url.path != "/callback":  # the browser also asks for /favicon.ico
                    self.send_error(404)
                    return
                received.append(parse_qs(url.query))
                body = b"<h1>Signed in</h1><p>You can close this tab.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sign_in(page: Page, email: str, password: str) -> None:
    page.wait_for_selector("h1:has-text('Sign in')")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_browser_sign_in_and_consent_reach_the_loopback_callback(
        hub_server: HubServer, page: Page) -> None:
    user = hub_server.create_user(name="Browser User")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    callback = Callback()
    try:
        state = secrets.token_urlsafe(16)
        page.goto(f"{hub_server.url}/oauth/authorize?" + urlencode({
            "client_id": "cli_native", "response_type": "code", "scope": "offline_access",
            "redirect_uri": callback.url, "code_challenge": challenge,
            "code_challenge_method": "S256", "state": state}))
        # A wrong password first: the same page, an alert, nothing else revealed.
        sign_in(page, user.email, "not the password")
        page.wait_for_selector("[role=alert]")
        assert page.inner_text("[role=alert]") == "Email or password is incorrect."
        page.get_by_label("Password").fill(user.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("h1:has-text('Authorize the spec-kitty CLI?')")
        assert user.email in page.inner_text("main")
        assert callback.url in page.inner_text("main")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"hub-consent-{hub_server.backend}.png"))
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_selector("text=You can close this tab.")
    finally:
        callback.close()
    assert len(callback.queries) == 1
    query = callback.queries[0]
    assert query["state"] == [state]
    tokens = hub_server.http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0],
        "redirect_uri": callback.url, "client_id": "cli_native", "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    me = hub_server.http.get("/api/v1/me",
                             headers=hub_server.bearer(tokens.json()["access_token"]))
    assert me.json()["name"] == "Browser User"


def test_denying_consent_sends_access_denied(hub_server: HubServer, page: Page) -> None:
    user = hub_server.create_user()
    callback = Callback()
    try:
        page.goto(f"{hub_server.url}/oauth/authorize?" + urlencode({
            "client_id": "cli_native", "response_type": "code", "redirect_uri": callback.url,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256", "state": "deny-me"}))
        sign_in(page, user.email, user.password)
        page.get_by_role("button", name="Deny").click()
        page.wait_for_selector("text=You can close this tab.")
    finally:
        callback.close()
    assert callback.queries[0]["error"] == ["access_denied"]
    assert callback.queries[0]["state"] == ["deny-me"]
    assert "code" not in callback.queries[0]


def test_the_device_page_signs_a_headless_cli_in(hub_server: HubServer, page: Page) -> None:
    user = hub_server.create_user()
    started = hub_server.start_device()
    page.goto(started["verification_uri"])
    sign_in(page, user.email, user.password)
    page.wait_for_selector("h1:has-text('Connect a device')")
    page.get_by_label("Code").fill(started["user_code"].replace("-", " ").lower())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"hub-device-{hub_server.backend}.png"))
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector('#outcome[data-outcome="approved"]')
    tokens = hub_server.http.post("/oauth/token", data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"],
        "client_id": "cli_native"})
    assert tokens.status_code == 200, tokens.text
    # The prefilled link (verification_uri_complete) works for a signed-in browser too.
    second = hub_server.start_device()
    page.goto(second["verification_uri_complete"])
    assert page.get_by_label("Code").input_value() == second["user_code"]
    page.get_by_role("button", name="Deny").click()
    page.wait_for_selector('#outcome[data-outcome="denied"]')
    denied = hub_server.http.post("/oauth/token", data={
        "grant_type": DEVICE_GRANT, "device_code": second["device_code"],
        "client_id": "cli_native"})
    assert denied.json()["error"] == "access_denied"
