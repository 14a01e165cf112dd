"""Security properties of the hub: team scoping, CSRF, rate limits, no enumeration.

Every test runs against SQLite and PostgreSQL. Tests that fail sign-ins act from their
own address (X-Forwarded-For, trusted from 127.0.0.1 by the test hub) so the
per-address limit of one test never blocks another.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from hub_fixtures import ADDRESS_LIMIT, HubServer, form_token

pytestmark = pytest.mark.hub


def own_address() -> dict[str, str]:
    """A documentation-range address of this test alone (RFC 3849 IPv6)."""
    return {"X-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}"}


def login(client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password, "next": "/",
                                       "csrf_token": form_token(client.get("/login").text)})


def test_another_teams_data_is_never_readable(hub_server: HubServer) -> None:
    alice, bob = hub_server.create_user(), hub_server.create_user()
    shared = hub_server.create_team(owner=alice.email)
    bob_tokens = hub_server.login(bob)
    headers = hub_server.bearer(bob_tokens["access_token"])
    for slug in (shared, alice.private_team, "no-such-team"):
        response = hub_server.http.get(f"/api/v1/teams/{slug}", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"] == "team_not_found"
    me = hub_server.http.get("/api/v1/me", headers=headers).json()
    assert [team["id"] for team in me["teams"]] == [bob.private_team]
    # Membership is what grants access, and removing it takes it away.
    hub_server.add_member(shared, bob.email)
    detail = hub_server.http.get(f"/api/v1/teams/{shared}", headers=headers)
    assert detail.status_code == 200
    assert {m["email"]: m["role"] for m in detail.json()["members"]} == {
        alice.email: "owner", bob.email: "member"}
    hub_server.admin("team", "member", "remove", shared, bob.email)
    assert hub_server.http.get(f"/api/v1/teams/{shared}",
                               headers=headers).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwdw=="])
def test_requests_without_a_valid_bearer_token_are_refused(hub_server: HubServer,
                                                           header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/api/v1/me", "/api/v1/session-status", "/api/v1/teams/x"):
        response = hub_server.http.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json()["error"] == "invalid_token"


def test_forms_without_a_valid_csrf_token_are_refused(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    anonymous = hub_server.browser(headers=own_address())
    anonymous.get("/login")
    for token in (None, "", "forged"):
        data = {"email": user.email, "password": user.password}
        if token is not None:
            data["csrf_token"] = token
        refused = anonymous.post("/login", data=data)
        assert refused.status_code == 403 and "hub_session" not in anonymous.cookies
    # A token minted for another browser (another CSRF cookie) is refused too.
    other = hub_server.browser()
    stolen = form_token(other.get("/login").text)
    refused = anonymous.post("/login", data={"email": user.email, "password": user.password,
                                             "csrf_token": stolen})
    assert refused.status_code == 403
    signed_in = hub_server.browser(user)
    for path in ("/device", "/logout", "/oauth/authorize"):
        response = signed_in.post(path, data={"user_code": "ABCD-EFGH", "decision": "approve"})
        assert response.status_code == 403, path
    assert signed_in.get("/").status_code == 200  # still signed in: logout was refused


def test_the_login_page_never_says_which_accounts_exist(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    hub_server.admin("user", "disable", (disabled := hub_server.create_user()).email)
    messages = set()
    for email, password in [(user.email, "wrong-password"),
                            (f"nobody-{uuid.uuid4().hex}@example.com", "whatever1"),
                            (disabled.email, disabled.password)]:
        client = hub_server.browser(headers=own_address())
        response = login(client, email, password)
        assert response.status_code == 401
        messages.add(response.text.split('role="alert"')[1].split("</p>")[0])
        assert "hub_session" not in client.cookies
    assert len(messages) == 1 and "Email or password is incorrect." in messages.pop()


def test_sign_in_attempts_are_limited_per_account(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    for _ in range(5):
        assert login(hub_server.browser(headers=own_address()), user.email,
                     "wrong-password").status_code == 401
    # Even the right password is refused now, from any address.
    limited = login(hub_server.browser(headers=own_address()), user.email, user.password)
    assert limited.status_code == 429 and "Too many failed sign-in attempts" in limited.text
    # Unknown accounts are limited exactly the same way: the limit reveals nothing.
    ghost = f"ghost-{uuid.uuid4().hex}@example.com"
    for _ in range(5):
        login(hub_server.browser(headers=own_address()), ghost, "wrong-password")
    assert login(hub_server.browser(headers=own_address()), ghost,
                 "x").status_code == 429


def test_sign_in_attempts_are_limited_per_address(hub_server: HubServer) -> None:
    from spec_kitty_hub.db.models import LoginFailure

    here = own_address()
    for index in range(ADDRESS_LIMIT):
        response = login(hub_server.browser(headers=here),
                         f"spray-{index}-{uuid.uuid4().hex}@example.com", "guess")
        assert response.status_code == 401
    user = hub_server.create_user()
    assert login(hub_server.browser(headers=here), user.email,
                 user.password).status_code == 429
    assert login(hub_server.browser(headers=own_address()), user.email,
                 user.password).status_code == 303
    key = here["X-Forwarded-For"]
    with hub_server.db.read() as session:
        counted = session.scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.scope == "address", LoginFailure.key == key))
    assert counted == ADDRESS_LIMIT  # stored in the database, so every hub process sees it


def test_sign_in_then_sign_out(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    client = hub_server.browser(user)
    home = client.get("/")
    assert home.status_code == 200 and user.email in home.text
    assert user.private_team in home.text
    assert home.headers["x-frame-options"] == "DENY"
    out = client.post("/logout", data={"csrf_token": form_token(home.text)})
    assert out.status_code == 303
    assert client.get("/").headers["location"].startswith("/login")


def test_after_sign_in_only_same_site_paths_are_followed(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    for target, expected in [("//evil.example/x", "/"), ("https://evil.example", "/"),
                             ("/device?user_code=ABCD", "/device?user_code=ABCD")]:
        client = hub_server.browser()
        response = client.post("/login", data={
            "email": user.email, "password": user.password, "next": target,
            "csrf_token": form_token(client.get("/login").text)})
        assert response.headers["location"] == expected


def test_the_device_page_approves_for_the_signed_in_user(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    anonymous = hub_server.browser()
    started = hub_server.start_device()
    bounce = anonymous.get(f"/device?user_code={started['user_code']}")
    assert bounce.status_code == 303 and bounce.headers["location"].startswith("/login?next=")
    client = hub_server.browser(user)
    page = client.get("/device", params={"user_code": started["user_code"]})
    assert started["user_code"] in page.text
    wrong = client.post("/device", data={"user_code": "BBBB-BBBB", "decision": "approve",
                                         "csrf_token": form_token(page.text)})
    assert wrong.status_code == 400 and "not valid" in wrong.text
    done = client.post("/device", data={"user_code": started["user_code"].lower(),
                                        "decision": "approve",
                                        "csrf_token": form_token(page.text)})
    assert done.status_code == 200 and 'data-outcome="approved"' in done.text
    tokens = hub_server.http.post("/oauth/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": started["device_code"], "client_id": "cli_native"}).json()
    me = hub_server.http.get("/api/v1/me", headers=hub_server.bearer(tokens["access_token"]))
    assert me.json()["email"] == user.email


def test_guessing_device_codes_is_limited_per_user(hub_server: HubServer) -> None:
    """RFC 8628 §5.1: a signed-in account that enters wrong codes over and over is
    stopped, so it cannot approve someone else's pending code into its own account."""
    from spec_kitty_hub.services.grants import DEVICE_GUESS_LIMIT

    guesser, other = hub_server.create_user(), hub_server.create_user()
    victim = hub_server.start_device()
    client = hub_server.browser(guesser)
    token = form_token(client.get("/device").text)

    def enter(code: str) -> httpx.Response:
        return client.post("/device", data={"user_code": code, "decision": "approve",
                                            "csrf_token": token})

    for _ in range(DEVICE_GUESS_LIMIT):
        assert enter("BBBB-BBBB").status_code == 400
    # Now even the right code is refused: a guesser cannot tell a hit from a miss.
    blocked = enter(victim["user_code"])
    assert blocked.status_code == 429 and "Too many wrong codes" in blocked.text
    poll = hub_server.http.post("/oauth/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": victim["device_code"], "client_id": "cli_native"})
    assert poll.json()["error"] == "authorization_pending"
    # The limit is the guesser's, not everyone's.
    helper = hub_server.browser(other)
    done = helper.post("/device", data={"user_code": victim["user_code"], "decision": "approve",
                                        "csrf_token": form_token(helper.get("/device").text)})
    assert done.status_code == 200 and 'data-outcome="approved"' in done.text


def test_tokens_are_stored_only_as_hashes(hub_server: HubServer) -> None:
    from spec_kitty_hub.db.models import AccessToken, RefreshToken, User

    user = hub_server.create_user()
    tokens = hub_server.login(user)
    with hub_server.db.read() as session:
        stored = set(session.scalars(select(AccessToken.token_hash))) | set(
            session.scalars(select(RefreshToken.token_hash)))
        password_hash = session.scalar(select(User.password_hash).where(
            User.email == user.email))
    assert tokens["access_token"] not in stored and tokens["refresh_token"] not in stored
    assert password_hash is not None and password_hash.startswith("$argon2id$")
    assert user.password not in password_hash
