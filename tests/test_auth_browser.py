"""Browser login in a real browser: Debian's chromium, driven by Playwright, on the hub.

`auth login --no-browser` prints the authorize URL; the browser signs in on the hub's
page and answers the consent page; the hub redirects to the CLI's loopback listener and
the CLI exchanges the code (PKCE S256). Playwright's own browser download is never used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from auth_cli import finish, read_prompt, sk_auth, start_login


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _sign_in_and_answer(page: Page, url: str, user: Any, decision: str) -> None:
    page.goto(url)
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("button[type=submit]")
    page.wait_for_selector(f"button[value={decision}]")
    assert user.email in page.content()
    page.click(f"button[value={decision}]")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/callback\?"))


def test_browser_login_with_pkce_ends_logged_in(sqlite_hub: Any, tmp_path: Path,
                                                page: Page) -> None:
    hub = sqlite_hub
    user = hub.create_user(name="Grace Hopper")
    proc = start_login(hub, tmp_path, "--no-browser")
    read_prompt(proc, "Open this URL in a browser")
    url = read_prompt(proc, "/oauth/authorize?").strip()
    assert url.startswith(f"{hub.url}/oauth/authorize?") and "code_challenge_method=S256" in url
    _sign_in_and_answer(page, url, user, "approve")
    assert "Logged in" in page.content()
    code, answer = finish(proc)
    assert code == 0, answer
    assert answer["result"] == "logged_in" and answer["auth_method"] == "authorization_code"
    assert answer["user"]["email"] == user.email
    code, status = sk_auth(hub, tmp_path, "status")
    assert status["auth_method_label"] == "Browser (Authorization Code with PKCE)"
    assert status["default_team_id"] == user.private_team
    code, doctor = sk_auth(hub, tmp_path, "doctor")
    assert code == 0 and doctor["ok"]


def test_denying_consent_in_the_browser_fails_the_login(sqlite_hub: Any, tmp_path: Path,
                                                        page: Page) -> None:
    hub = sqlite_hub
    user = hub.create_user()
    proc = start_login(hub, tmp_path, "--no-browser")
    url = read_prompt(proc, "/oauth/authorize?").strip()
    _sign_in_and_answer(page, url, user, "deny")
    code, answer = finish(proc)
    assert code == 1 and answer["error_code"] == "LOGIN_DENIED"
    assert sk_auth(hub, tmp_path, "status")[1]["logged_in"] is False


def test_denying_a_device_code_in_the_browser_fails_the_headless_login(
        sqlite_hub: Any, tmp_path: Path, page: Page) -> None:
    hub = sqlite_hub
    user = hub.create_user()
    proc = start_login(hub, tmp_path, "--headless")
    read_prompt(proc, "enter the code:")
    complete = read_prompt(proc, "(or open ").split("(or open ", 1)[1].rstrip(")\n ")
    page.goto(complete)
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("button[type=submit]")
    page.click("button[value=deny]")
    code, answer = finish(proc)
    assert code == 1 and answer["error_code"] == "LOGIN_DENIED"
