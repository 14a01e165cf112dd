"""OAuth 2.0 for cli_native against the real hub (SQLite and PostgreSQL).

Contract: /work/shared/reference/sync-subsystem.md §3.2, §(a), §(c); RFC 6749, 7636,
7009, 8628.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub_fixtures import DEVICE_GRANT, HubServer, form_token

pytestmark = pytest.mark.hub
CALLBACK = "http://127.0.0.1:28888/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorization_code(browser: httpx.Client, challenge: str,
                       redirect_uri: str = CALLBACK, state: str = "st4te") -> str:
    params = {"client_id": "cli_native", "response_type": "code", "scope": "offline_access",
              "redirect_uri": redirect_uri, "code_challenge": challenge,
              "code_challenge_method": "S256", "state": state}
    consent = browser.get("/oauth/authorize", params=params)
    assert consent.status_code == 200, consent.text
    decided = browser.post("/oauth/authorize", data={
        **params, "decision": "approve", "csrf_token": form_token(consent.text)})
    assert decided.status_code == 303
    location = urlsplit(decided.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(hub: HubServer, code: str, verifier: str | None,
             redirect_uri: str = CALLBACK) -> tuple[int, dict]:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": "cli_native"}
    if verifier is not None:
        data["code_verifier"] = verifier
    response = hub.http.post("/oauth/token", data=data)
    return response.status_code, response.json()


def test_device_flow_as_the_published_cli_runs_it(hub_server: HubServer) -> None:
    user = hub_server.create_user(name="Dee Vice")
    team = hub_server.create_team(owner=user.email)
    started = hub_server.start_device()
    assert set(started) >= {"device_code", "user_code", "verification_uri", "expires_in",
                            "interval"}
    assert started["verification_uri"] == f"{hub_server.url}/device"
    assert started["interval"] == 1 and started["expires_in"] == 900
    poll = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"],
            "client_id": "cli_native"}
    pending = hub_server.http.post("/oauth/token", data=poll)
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    too_soon = hub_server.http.post("/oauth/token", data=poll)
    assert too_soon.json()["error"] == "slow_down"
    approved = hub_server.admin("device", "approve", started["user_code"].lower(),
                                "--user", user.email, "--json")
    assert '"approved": true' in approved.stdout
    tokens = hub_server.http.post("/oauth/token", data=poll)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "offline_access"
    assert body["expires_in"] == 900 and body["refresh_token_expires_in"] == 30 * 86400
    expires_at = datetime.fromisoformat(body["refresh_token_expires_at"])
    assert abs(expires_at.timestamp() - time.time() - 30 * 86400) < 120
    assert tokens.headers["cache-control"] == "no-store"
    me = hub_server.http.get("/api/v1/me", headers=hub_server.bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "user_id": user.user_id, "email": user.email, "name": "Dee Vice",
        "teams": [{"id": user.private_team, "name": "Dee Vice's teamspace", "role": "owner",
                   "is_private_teamspace": True},
                  {"id": team, "name": team.title(), "role": "owner",
                   "is_private_teamspace": False}]}
    status = hub_server.http.get("/api/v1/session-status",
                                 headers=hub_server.bearer(body["access_token"])).json()
    assert status["session_id"] == body["session_id"]
    assert status["auth_method"] == "device_code" and status["active"] is True
    # The device code is single-use.
    again = hub_server.http.post("/oauth/token", data=poll)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_a_denied_device_code_ends_the_flow(hub_server: HubServer) -> None:
    from spec_kitty_hub.services.accounts import get_user
    from spec_kitty_hub.services.grants import decide_device

    user = hub_server.create_user()
    started = hub_server.start_device()
    with hub_server.db.write() as session:
        decide_device(session, started["user_code"], get_user(session, user.email),
                      approve=False)
    denied = hub_server.http.post("/oauth/token", data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"],
        "client_id": "cli_native"})
    assert (denied.status_code, denied.json()["error"]) == (400, "access_denied")
    twice = hub_server.admin("device", "approve", started["user_code"], "--user", user.email,
                             "--json", check=False)
    assert twice.returncode == 1 and '"error_code": "DEVICE_CODE_INVALID"' in twice.stdout


def test_an_expired_device_code_answers_expired_token(hub_server: HubServer) -> None:
    from sqlalchemy import update

    from spec_kitty_hub.db.models import DeviceCode, utcnow
    from spec_kitty_hub.security import token_hash

    started = hub_server.start_device()
    with hub_server.db.write() as session:
        session.execute(update(DeviceCode).where(
            DeviceCode.device_code_hash == token_hash(started["device_code"]))
            .values(expires_at=utcnow()))
    expired = hub_server.http.post("/oauth/token", data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"],
        "client_id": "cli_native"})
    assert (expired.status_code, expired.json()["error"]) == (400, "expired_token")
    user = hub_server.create_user()
    late = hub_server.admin("device", "approve", started["user_code"], "--user", user.email,
                            check=False)
    assert late.returncode == 1 and "not valid" in late.stderr


def test_authorization_code_with_pkce(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    verifier, challenge = pkce()
    code = authorization_code(hub_server.browser(user), challenge)
    status, body = exchange(hub_server, code, verifier)
    assert status == 200, body
    assert body["session_id"] and body["refresh_token"] and body["expires_in"] == 900
    me = hub_server.http.get("/api/v1/me", headers=hub_server.bearer(body["access_token"]))
    assert me.json()["email"] == user.email
    session = hub_server.http.get("/api/v1/session-status",
                                  headers=hub_server.bearer(body["access_token"])).json()
    assert session["auth_method"] == "authorization_code"


@pytest.mark.parametrize("verifier", [None, "wrong", "x" * 43])
def test_pkce_missing_or_wrong_verifier_is_refused(hub_server: HubServer,
                                                   verifier: str | None) -> None:
    user = hub_server.create_user()
    _, challenge = pkce()
    code = authorization_code(hub_server.browser(user), challenge)
    status, body = exchange(hub_server, code, verifier)
    assert status == 400
    assert body["error"] == ("invalid_request" if verifier is None else "invalid_grant")


def test_a_replayed_authorization_code_revokes_its_session(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    verifier, challenge = pkce()
    code = authorization_code(hub_server.browser(user), challenge)
    _, first = exchange(hub_server, code, verifier)
    status, second = exchange(hub_server, code, verifier)
    assert (status, second["error"]) == (400, "invalid_grant")
    me = hub_server.http.get("/api/v1/me", headers=hub_server.bearer(first["access_token"]))
    assert me.status_code == 401


def test_the_code_is_bound_to_its_redirect_uri(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    verifier, challenge = pkce()
    code = authorization_code(hub_server.browser(user), challenge)
    status, body = exchange(hub_server, code, verifier, "http://127.0.0.1:28889/callback")
    assert (status, body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/callback", "http://evil.example:8080/cb", "http://10.0.0.1:80/cb",
    "http://127.0.0.1/callback#frag", "file:///etc/passwd", "http://127.0.0.1.evil.io:80/",
])
def test_a_redirect_uri_that_is_not_loopback_is_never_redirected_to(
        hub_server: HubServer, redirect_uri: str) -> None:
    _, challenge = pkce()
    response = hub_server.http.get("/oauth/authorize", params={
        "client_id": "cli_native", "response_type": "code", "redirect_uri": redirect_uri,
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "redirect_uri" in response.text


def test_an_unknown_client_is_refused_everywhere(hub_server: HubServer) -> None:
    _, challenge = pkce()
    page = hub_server.http.get("/oauth/authorize", params={
        "client_id": "other", "response_type": "code", "redirect_uri": CALLBACK,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert page.status_code == 400 and "location" not in page.headers
    device = hub_server.http.post("/oauth/device", data={"client_id": "other"})
    assert (device.status_code, device.json()["error"]) == (401, "invalid_client")
    grant = hub_server.http.post("/oauth/token", data={
        "grant_type": DEVICE_GRANT, "device_code": "x", "client_id": "other"})
    assert (grant.status_code, grant.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(("params", "error"), [
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": None}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "admin"}, "invalid_scope"),
])
def test_bad_authorization_requests_go_back_to_the_client_with_an_error(
        hub_server: HubServer, params: dict, error: str) -> None:
    _, challenge = pkce()
    query = {"client_id": "cli_native", "response_type": "code", "redirect_uri": CALLBACK,
             "code_challenge": challenge, "code_challenge_method": "S256", "state": "abc",
             **params}
    response = hub_server.http.get("/oauth/authorize",
                                   params={k: v for k, v in query.items() if v is not None})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.netloc == "127.0.0.1:28888"
    query_back = parse_qs(location.query)
    assert query_back["error"] == [error] and query_back["state"] == ["abc"]
    assert "code" not in query_back


def test_refresh_rotates_and_a_replay_revokes_the_whole_session(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    first = hub_server.login(user)
    rotated = hub_server.http.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": "cli_native"})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["session_id"] == first["session_id"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["generation"] == first["generation"] + 1
    assert hub_server.http.get("/api/v1/me", headers=hub_server.bearer(
        second["access_token"])).status_code == 200
    replay = hub_server.http.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    # Every token of the session is dead now, the newest included.
    for token in (first["access_token"], second["access_token"]):
        assert hub_server.http.get("/api/v1/me",
                                   headers=hub_server.bearer(token)).status_code == 401
    after = hub_server.http.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert (after.status_code, after.json()["error"]) == (400, "session_invalid")


def test_revoke_ends_the_session(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    tokens = hub_server.login(user)
    revoked = hub_server.http.post("/oauth/revoke", data={
        "token": tokens["refresh_token"], "token_type_hint": "refresh_token"})
    assert (revoked.status_code, revoked.json()) == (200, {"revoked": True})
    assert hub_server.http.get("/api/v1/me", headers=hub_server.bearer(
        tokens["access_token"])).status_code == 401
    refresh = hub_server.http.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.json()["error"] == "session_invalid"
    unknown = hub_server.http.post("/oauth/revoke", data={"token": "nonsense"})
    assert (unknown.status_code, unknown.json()) == (200, {"revoked": True})
    missing = hub_server.http.post("/oauth/revoke", data={})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


def test_an_expired_access_token_is_refused(hub_server: HubServer) -> None:
    from sqlalchemy import update

    from spec_kitty_hub.db.models import AccessToken, RefreshToken, utcnow
    from spec_kitty_hub.security import token_hash

    user = hub_server.create_user()
    tokens = hub_server.login(user)
    with hub_server.db.write() as session:
        session.execute(update(AccessToken).where(
            AccessToken.token_hash == token_hash(tokens["access_token"]))
            .values(expires_at=utcnow()))
        session.execute(update(RefreshToken).where(
            RefreshToken.token_hash == token_hash(tokens["refresh_token"]))
            .values(expires_at=utcnow()))
    me = hub_server.http.get("/api/v1/me", headers=hub_server.bearer(tokens["access_token"]))
    assert me.status_code == 401
    assert me.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    refresh = hub_server.http.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert (refresh.status_code, refresh.json()["error"]) == (400, "invalid_grant")


def test_a_disabled_user_loses_every_session(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    tokens = hub_server.login(user)
    hub_server.admin("user", "disable", user.email)
    assert hub_server.http.get("/api/v1/me", headers=hub_server.bearer(
        tokens["access_token"])).status_code == 401
    refresh = hub_server.http.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.json()["error"] == "session_invalid"


@pytest.mark.parametrize(("data", "status", "error"), [
    ({}, 400, "invalid_request"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": "authorization_code", "client_id": "cli_native"}, 400, "invalid_request"),
    ({"grant_type": "refresh_token", "refresh_token": "unknown"}, 400, "invalid_grant"),
    ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "web"}, 401,
     "invalid_client"),
    ({"grant_type": DEVICE_GRANT, "client_id": "cli_native", "device_code": "nope"}, 400,
     "invalid_grant"),
])
def test_token_endpoint_errors_are_rfc_bodies(hub_server: HubServer, data: dict, status: int,
                                              error: str) -> None:
    response = hub_server.http.post("/oauth/token", data=data)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and isinstance(body["error_description"], str)


def test_concurrent_refreshes_with_one_token_rotate_it_once(hub_server: HubServer) -> None:
    """Eight clients present the same refresh token at once: exactly one rotation
    succeeds, the rest are replays, so the session ends revoked."""
    from concurrent.futures import ThreadPoolExecutor

    user = hub_server.create_user()
    tokens = hub_server.login(user)
    barrier = threading.Barrier(8)

    def attempt(_: int) -> int:
        with httpx.Client(base_url=hub_server.url, trust_env=False, timeout=60) as client:
            barrier.wait()
            return client.post("/oauth/token", data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"]}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [200] + [400] * 7
    assert hub_server.http.get("/api/v1/me", headers=hub_server.bearer(
        tokens["access_token"])).status_code == 401


def test_concurrent_polls_of_an_approved_device_code_issue_one_session(
        hub_server: HubServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from spec_kitty_hub.db.models import AuthSession

    user = hub_server.create_user()
    started = hub_server.start_device()
    hub_server.approve_device(started["user_code"], user.email)
    barrier = threading.Barrier(6)

    def poll(_: int) -> int:
        with httpx.Client(base_url=hub_server.url, trust_env=False, timeout=60) as client:
            barrier.wait()
            return client.post("/oauth/token", data={
                "grant_type": DEVICE_GRANT, "device_code": started["device_code"],
                "client_id": "cli_native"}).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(poll, range(6)))
    assert statuses == [200] + [400] * 5
    with hub_server.db.read() as session:
        sessions = session.scalar(select(func.count()).select_from(AuthSession).where(
            AuthSession.user_id == user.user_id))
    assert sessions == 1


def test_a_hub_killed_mid_rotation_leaves_each_session_whole(hub_server: HubServer,
                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    """kill -9 of a hub process while clients rotate tokens: afterwards every session
    has exactly one live refresh token (never none, never two), and the other hub
    process keeps serving."""
    import signal

    from sqlalchemy import func, select

    from spec_kitty_hub.db.models import RefreshToken

    other = HubServer(backend=hub_server.backend, database_url=hub_server.database_url,
                      workdir=tmp_path)
    other.start()
    users = [hub_server.create_user() for _ in range(3)]
    sessions = [hub_server.login(user) for user in users]
    stop = threading.Event()

    def rotate(tokens: dict) -> None:
        refresh = tokens["refresh_token"]
        with httpx.Client(base_url=other.url, trust_env=False, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post("/oauth/token", data={
                        "grant_type": "refresh_token", "refresh_token": refresh})
                except httpx.TransportError:
                    return
                assert response.status_code == 200, response.text
                refresh = response.json()["refresh_token"]

    threads = [threading.Thread(target=rotate, args=(tokens,)) for tokens in sessions]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    assert other.process is not None
    other.process.send_signal(signal.SIGKILL)
    other.process.wait()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    with hub_server.db.read() as session:
        for tokens in sessions:
            live = session.scalar(select(func.count()).select_from(RefreshToken).where(
                RefreshToken.session_id == tokens["session_id"],
                RefreshToken.rotated_at.is_(None)))
            assert live == 1, tokens["session_id"]
    user = hub_server.create_user()
    assert hub_server.login(user)["access_token"]
