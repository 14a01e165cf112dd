"""`spec-kitty auth` against the real hub (SQLite and PostgreSQL), CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth_cli import (
    ON,
    finish,
    headless_login,
    hub_env,
    login_new_user,
    read_prompt,
    sk_auth,
    start_login,
)
from auth_helpers import current_store, expired, rewrite_session
from spec_kitty.auth.session import utc_now

from helpers import CLI, run_cli

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _refresh_directly(hub: Any, refresh_token: str) -> httpx.Response:
    return hub.http.post("/oauth/token", data={"grant_type": "refresh_token",
                                               "refresh_token": refresh_token,
                                               "client_id": "cli_native"})


def test_headless_login_status_doctor_and_logout(hub_server: Any, tmp_path: Path) -> None:
    hub = hub_server
    user = hub.create_user(name="Ada Lovelace")
    team = hub.create_team(members=(user.email,))
    answer = headless_login(hub, tmp_path, user.email, via_admin=True)
    assert answer["result"] == "logged_in" and answer["user"]["email"] == user.email
    assert answer["default_team_id"] == user.private_team
    assert answer["auth_method"] == "device_code" and answer["server_url"] == hub.url

    code, status = sk_auth(hub, tmp_path, "status")
    assert code == 0 and status["logged_in"]
    assert status["user"] == {"id": user.user_id, "email": user.email,
                              "name": "Ada Lovelace"}
    teams = {t["id"]: t for t in status["teams"]}
    assert set(teams) == {user.private_team, team}
    assert teams[user.private_team]["is_private_teamspace"] and teams[user.private_team][
        "is_default"]
    assert not teams[team]["is_private_teamspace"] and not teams[team]["is_default"]
    assert teams[team]["role"] == "member" and teams[user.private_team]["role"] == "owner"
    assert 850 <= status["access_token_expires_in_seconds"] <= 900
    assert 29 * 86400 <= status["refresh_token_expires_in_seconds"] <= 30 * 86400
    assert status["storage"] == {"backend": "encrypted_file", "path": str(current_store().path)}
    assert status["session_id"] and status["auth_method"] == "device_code"
    assert "access_token" not in status and "refresh_token" not in status
    text = run_cli(["auth", "status"], tmp_path, env=hub_env(hub)).stdout
    for expected in (user.email, "[private, default]", "Encrypted session file",
                     "Headless (Device Authorization Grant)", status["session_id"]):
        assert expected in text
    whoami = run_cli(["auth", "whoami"], tmp_path, env=hub_env(hub))
    assert whoami.returncode == 0 and whoami.stdout.startswith(user.email)

    code, doctor = sk_auth(hub, tmp_path, "doctor")
    assert code == 0 and doctor["ok"], doctor
    assert [c["name"] for c in doctor["checks"]] == [
        "hub_url", "storage_permissions", "session", "tokens", "hub_reachable", "hub_session"]
    assert {c["status"] for c in doctor["checks"]} == {"ok"}

    code, again = sk_auth(hub, tmp_path, "login", "--headless")  # no new device flow
    assert code == 0 and again["result"] == "already_logged_in"

    refresh_token = current_store().load().refresh_token  # type: ignore[union-attr]
    code, out = sk_auth(hub, tmp_path, "logout")
    assert code == 0 and out == {"result": "logged_out", "server_url": hub.url,
                                 "revoked": True, "revoke_error": None}
    assert not current_store().path.exists()
    assert _refresh_directly(hub, refresh_token).status_code == 400  # revoked on the hub
    code, gone = sk_auth(hub, tmp_path, "whoami")
    assert code == 1 and gone["error_code"] == "NOT_LOGGED_IN"
    code, status = sk_auth(hub, tmp_path, "status")
    assert code == 0 and status["logged_in"] is False
    assert sk_auth(hub, tmp_path, "logout")[1]["result"] == "not_logged_in"


def test_a_rejected_access_token_is_refreshed_once_and_the_request_replayed(
        hub_server: Any, tmp_path: Path) -> None:
    hub = hub_server
    user, store, _ = login_new_user(hub, tmp_path)
    before = rewrite_session(store, access_token="not-a-token-the-hub-knows")
    code, doctor = sk_auth(hub, tmp_path, "doctor")
    assert code == 0 and doctor["ok"], doctor
    after = store.load()
    assert after is not None and after.generation == before.generation + 1
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # rotated
    assert after.session_id == before.session_id


def test_concurrent_refreshes_never_log_each_other_out(sqlite_hub: Any, tmp_path: Path) -> None:
    """Six processes find the access token expired at once. Under the lock the first
    refreshes; the others re-read, see the rotated token and adopt it. Without that,
    the second refresh would replay a rotated refresh token and the hub would revoke
    the whole session (next test)."""
    hub = sqlite_hub
    user, store, _ = login_new_user(hub, tmp_path)
    before = rewrite_session(store, access_expires_at=expired())
    env = {**os.environ, **hub_env(hub)}
    procs = [subprocess.Popen([str(CLI), "auth", "doctor", "--json"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read())  # type: ignore[union-attr]
               for p in procs]
    assert [r[0] for r in results] == [0] * 6, results
    after = store.load()
    assert after is not None and after.generation == before.generation + 1  # one refresh
    status = hub.http.get("/api/v1/session-status", headers=hub.bearer(after.access_token))
    assert status.status_code == 200 and status.json()["generation"] == after.generation


def test_a_replayed_refresh_token_ends_the_session_and_the_cli_says_so(
        hub_server: Any, tmp_path: Path) -> None:
    hub = hub_server
    user, store, session = login_new_user(hub, tmp_path)
    assert _refresh_directly(hub, session.refresh_token).status_code == 200  # someone rotates
    hub.age_rotation(session.refresh_token)               # long enough ago to be a replay
    replay = _refresh_directly(hub, session.refresh_token)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    rewrite_session(store, access_expires_at=expired())
    code, doctor = sk_auth(hub, tmp_path, "doctor")
    assert code == 1 and doctor["error_code"] == "AUTH_DOCTOR_FAILED"
    hub_check = {c["name"]: c for c in doctor["checks"]}["hub_session"]
    assert hub_check["status"] == "fail" and "auth login" in hub_check["remediation"]
    assert "no longer accepts" in hub_check["message"] or "ended" in hub_check["message"]


def _store_hub_session(hub: Any, store: Any) -> Any:
    """A session for a new user, logged in over HTTP and written to ``store``."""
    from spec_kitty.auth.oauth import OAuthClient
    from spec_kitty.auth.session import DEVICE, Session, TokenGrant

    tokens = hub.login(hub.create_user())
    now = utc_now()
    with OAuthClient(hub.url) as oauth:
        identity = oauth.me(tokens["access_token"])
    session = Session.create(hub.url, TokenGrant.from_json(tokens, now), identity, DEVICE, now)
    with store.lock():
        store.save(session)
    return session


def test_a_benign_retry_adopts_the_rotation_another_client_stores(
        hub_server: Any, tmp_path: Path) -> None:
    """Another client (not under our lock) has rotated the refresh token and is about
    to store the result when our refresh presents the old one: the hub answers 409
    ``refresh_replay_benign_retry``; we wait outside the lock, re-read and adopt its
    tokens, and the session is never revoked."""
    from spec_kitty.auth.refresh import TokenManager
    from spec_kitty.auth.session import TokenGrant
    from spec_kitty.auth.storage import SessionStore
    from spec_kitty.hosted.runtime import RuntimePaths

    hub = hub_server
    store = SessionStore(RuntimePaths(tmp_path / "runtime"))
    mine = _store_hub_session(hub, store)
    theirs = _refresh_directly(hub, mine.refresh_token).json()  # rotated, not stored yet
    rewrite_session(store, access_expires_at=expired())
    waits: list[float] = []

    def other_client_stores(seconds: float) -> None:
        waits.append(seconds)
        with store.lock(timeout=1):  # free: we wait outside the lock
            current = store.load()
            assert current is not None
            store.save(current.rotated(TokenGrant.from_json(theirs, utc_now()), utc_now()))

    manager = TokenManager(store, sleep=other_client_stores)
    assert manager.access_token() == theirs["access_token"] and waits == [1.0]
    status = hub.http.get("/api/v1/session-status", headers=hub.bearer(theirs["access_token"]))
    assert status.status_code == 200
    assert status.json()["generation"] == theirs["generation"]  # no second rotation


def test_benign_retries_that_never_resolve_ask_for_login_and_revoke_nothing(
        hub_server: Any, tmp_path: Path) -> None:
    """The client that rotated never stores its tokens: the CLI stops after three 409
    answers (never presenting an older token, which would be a replay) and asks for a
    new login; the session the other client holds stays alive."""
    hub = hub_server
    user, store, mine = login_new_user(hub, tmp_path)
    theirs = _refresh_directly(hub, mine.refresh_token).json()
    rewrite_session(store, access_expires_at=expired())
    code, doctor = sk_auth(hub, tmp_path, "doctor")
    assert code == 1
    check = {c["name"]: c for c in doctor["checks"]}["hub_session"]
    assert check["status"] == "fail" and "at the same moment" in check["message"]
    assert "auth login" in check["remediation"]
    assert store.load() is not None  # kept for `auth status`
    assert hub.http.get("/api/v1/me", headers=hub.bearer(theirs["access_token"])
                        ).status_code == 200
    assert _refresh_directly(hub, theirs["refresh_token"]).status_code == 200


def test_a_revoked_session_is_cleared_and_an_expired_one_asks_for_login(
        hub_server: Any, tmp_path: Path) -> None:
    hub = hub_server
    user, store, session = login_new_user(hub, tmp_path)
    revoked = hub.http.post("/oauth/revoke", data={"token": session.refresh_token,
                                                   "token_type_hint": "refresh_token"})
    assert revoked.json() == {"revoked": True}
    code, doctor = sk_auth(hub, tmp_path, "doctor")  # the access token is refused: 401
    assert code == 1
    checks = {c["name"]: c for c in doctor["checks"]}
    assert checks["hub_session"]["status"] == "fail"
    assert "ended this session" in checks["hub_session"]["message"]
    assert not store.path.exists()  # session_invalid removes the dead session
    assert sk_auth(hub, tmp_path, "status")[1]["logged_in"] is False

    headless_login(hub, tmp_path, user.email)
    rewrite_session(store, access_expires_at=expired(),
                    refresh_expires_at=utc_now() - timedelta(seconds=1))
    code, doctor = sk_auth(hub, tmp_path, "doctor")
    checks = {c["name"]: c for c in doctor["checks"]}
    assert code == 1 and checks["tokens"]["status"] == "fail"
    assert "expired" in checks["hub_session"]["message"]
    code, status = sk_auth(hub, tmp_path, "status")
    assert code == 0 and status["refresh_token_valid"] is False
    relogin = start_login(hub, tmp_path, "--headless")  # a dead session is not "logged in"
    read_prompt(relogin, "enter the code:")
    relogin.kill()
    relogin.communicate()


def test_an_operator_denying_the_code_stops_the_headless_login(hub_server: Any,
                                                               tmp_path: Path) -> None:
    hub = hub_server
    proc = start_login(hub, tmp_path, "--headless")
    user_code = read_prompt(proc, "enter the code:").rsplit(":", 1)[1].strip()
    hub.admin("device", "deny", user_code)
    code, answer = finish(proc)
    assert code == 1 and answer["error_code"] == "LOGIN_DENIED"
    assert not current_store().path.exists()
    assert sk_auth(hub, tmp_path, "status")[1]["logged_in"] is False


def test_login_needs_a_hub_url_and_takes_it_from_config(sqlite_hub: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    hub = sqlite_hub
    monkeypatch.delenv("SPEC_KITTY_SAAS_URL", raising=False)
    proc = run_cli(["auth", "login", "--headless", "--json"], tmp_path, env=ON)
    assert proc.returncode == 1
    answer = json.loads(proc.stdout)
    assert answer["error_code"] == "MISSING_HOST_CONFIG"
    assert "SPEC_KITTY_SAAS_URL" in answer["remediation"]
    insecure = run_cli(["auth", "login", "--json"], tmp_path,
                       env={**ON, "SPEC_KITTY_SAAS_URL": "http://hub.example.com"})
    assert insecure.returncode == 1 and "HTTPS is required" in insecure.stdout

    from spec_kitty.hosted.config import set_setting

    set_setting("sync", "server_url", hub.url, current_store().paths)
    user = hub.create_user()
    proc = subprocess.Popen([str(CLI), "auth", "login", "--headless", "--json"], cwd=tmp_path,
                            env={**os.environ, **ON}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    user_code = read_prompt(proc, "enter the code:").rsplit(":", 1)[1].strip()
    hub.approve_device(user_code, user.email)
    code, answer = finish(proc)
    assert code == 0 and answer["server_url"] == hub.url
    doctor = json.loads(run_cli(["auth", "doctor", "--json"], tmp_path, env=ON).stdout)
    assert "config.toml [sync] server_url" in doctor["checks"][0]["message"]
    status = json.loads(
        run_cli(["auth", "status", "--json"], tmp_path,
                env={**ON, "SPEC_KITTY_SAAS_URL": "https://other-hub.example.com"}).stdout)
    assert status["server_matches_config"] is False


def test_the_authenticated_client_is_the_one_door_to_the_hub(
        hub_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spec_kitty.auth.errors import HubError, NotLoggedIn
    from spec_kitty.auth.transport import authenticated_client
    from spec_kitty.hosted.gate import HostedDisabled
    from spec_kitty.hosted.readiness import NotReady

    hub = hub_server
    for key, value in hub_env(hub).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(NotReady) as not_ready:
        authenticated_client()
    assert not_ready.value.code == "MISSING_AUTH"
    user = hub.create_user()
    headless_login(hub, tmp_path, user.email)
    with authenticated_client() as client:
        me = client.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["email"] == user.email
        with pytest.raises(HubError) as foreign:
            client.get("https://elsewhere.example.com/api/v1/me")
        assert foreign.value.code == "FOREIGN_ORIGIN"
    monkeypatch.setenv("SPEC_KITTY_SAAS_URL", "https://other-hub.example.com")
    with pytest.raises(HubError) as mismatch:
        authenticated_client()
    assert mismatch.value.code == "SERVER_MISMATCH"
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "0")
    with pytest.raises(HostedDisabled):
        authenticated_client()
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    monkeypatch.setenv("SPEC_KITTY_SAAS_URL", hub.url)
    current_store().delete()
    with pytest.raises(NotReady):
        authenticated_client()
    current_store().paths.session_file.write_text("{}")
    current_store().paths.session_file.chmod(0o600)
    with pytest.raises(Exception) as unreadable:
        authenticated_client()
    assert getattr(unreadable.value, "code", "") == "SESSION_UNREADABLE"
    assert not isinstance(unreadable.value, NotLoggedIn)


class _Corrupting(httpx.HTTPTransport):
    """The real connection to the hub, recording what each attempt sends and, when
    asked, spoiling its bearer token (a hub that keeps refusing the session)."""

    def __init__(self, spoil: bool) -> None:
        super().__init__()
        self.spoil = spoil
        self.sent: list[tuple[str, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.headers["Authorization"], request.content))
        if self.spoil:
            request.headers["Authorization"] = "Bearer spoiled"
        return super().handle_request(request)


def test_a_401_gets_one_refresh_and_one_replay_never_more(
        hub_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spec_kitty.auth.transport import authenticated_client

    hub = hub_server
    for key, value in hub_env(hub).items():
        monkeypatch.setenv(key, value)
    headless_login(hub, tmp_path, hub.create_user().email)
    store = current_store()
    before = rewrite_session(store, access_token="not-a-token-the-hub-knows")
    inner = _Corrupting(spoil=True)
    with authenticated_client(inner=inner) as client:
        answer = client.request("GET", "/api/v1/me", content=b'{"probe": 1}')
    assert answer.status_code == 401  # the second refusal is the caller's to handle
    assert [body for _, body in inner.sent] == [b'{"probe": 1}'] * 2  # body replayed
    first, second = (auth for auth, _ in inner.sent)
    after = store.load()
    assert after is not None and after.generation == before.generation + 1  # one refresh
    assert first == "Bearer not-a-token-the-hub-knows"
    assert second == f"Bearer {after.access_token}"
    honest = _Corrupting(spoil=False)
    with authenticated_client(inner=honest) as client:
        assert client.get("/api/v1/me").status_code == 200
    assert len(honest.sent) == 1 and store.load().generation == after.generation  # type: ignore[union-attr]


def test_forced_login_replaces_and_revokes_the_old_session(sqlite_hub: Any,
                                                           tmp_path: Path) -> None:
    hub = sqlite_hub
    user, _, old = login_new_user(hub, tmp_path)
    proc = start_login(hub, tmp_path, "--headless", "--force")
    hub.approve_device(read_prompt(proc, "enter the code:").rsplit(":", 1)[1].strip(),
                       user.email)
    code, answer = finish(proc)
    assert code == 0 and answer["result"] == "logged_in"
    assert answer["session_id"] != old.session_id
    assert _refresh_directly(hub, old.refresh_token).status_code == 400  # old one revoked
    text = run_cli(["auth", "login", "--headless"], tmp_path, env=hub_env(hub))
    assert text.returncode == 0 and "Already logged in" in text.stdout


def test_unreadable_sessions_block_login_until_forced_and_logout_removes_them(
        sqlite_hub: Any, tmp_path: Path) -> None:
    hub = sqlite_hub
    store = current_store()
    store.paths.auth_dir.mkdir(parents=True)
    store.path.write_text('{"version": 2, "nonce": "00", "ciphertext": "00"}')
    store.path.chmod(0o600)
    code, refused = sk_auth(hub, tmp_path, "login", "--headless")
    assert code == 1 and refused["error_code"] == "SESSION_UNREADABLE"
    proc = start_login(hub, tmp_path, "--headless", "--force")  # --force starts over
    read_prompt(proc, "enter the code:")
    proc.kill()
    proc.communicate()
    out = run_cli(["auth", "logout"], tmp_path, env=hub_env(hub))
    assert out.returncode == 0 and "could not be read" in out.stdout
    assert not store.path.exists()
    assert "nothing to do" in run_cli(["auth", "logout"], tmp_path, env=hub_env(hub)).stdout


def test_text_output_and_a_hub_that_cannot_revoke(sqlite_hub: Any, tmp_path: Path) -> None:
    hub = sqlite_hub
    env = hub_env(hub)
    assert "Not logged in" in run_cli(["auth", "status"], tmp_path, env=env).stdout
    user = hub.create_user()
    headless_login(hub, tmp_path, user.email)
    whoami = sk_auth(hub, tmp_path, "whoami")[1]
    assert whoami["user"]["email"] == user.email
    assert whoami["default_team"]["id"] == user.private_team
    doctor = run_cli(["auth", "doctor"], tmp_path, env=env)
    assert doctor.returncode == 0 and doctor.stdout.count("[  ok]") == 6
    elsewhere = run_cli(["auth", "status"], tmp_path,
                        env={**env, "SPEC_KITTY_SAAS_URL": "https://other.example.com"})
    assert "the configured hub is https://other.example.com" in elsewhere.stdout
    failing = run_cli(["auth", "doctor"], tmp_path,
                      env={**env, "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9"})
    assert failing.returncode == 1 and "[fail] hub_reachable" in failing.stdout
    assert "fix: " in failing.stdout
    rewrite_session(current_store(), server_url="http://127.0.0.1:9")  # a hub that is gone
    out = run_cli(["auth", "logout"], tmp_path, env=env)
    assert out.returncode == 0 and "Logged out locally" in out.stdout
    assert "expires on its own" in out.stdout and not current_store().path.exists()


def test_doctor_names_a_hub_without_the_session_endpoint(sqlite_hub: Any,
                                                         tmp_path: Path) -> None:
    """A server that answers but has no /api/v1/session-status (an older hub, a wrong
    path prefix) fails the hub_session check with its status, not a traceback."""
    hub = sqlite_hub
    headless_login(hub, tmp_path, hub.create_user().email)
    elsewhere = f"{hub.url}/no-such-prefix"
    rewrite_session(current_store(), server_url=elsewhere)
    proc = run_cli(["auth", "doctor", "--json"], tmp_path,
                   env={**ON, "SPEC_KITTY_SAAS_URL": elsewhere})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["hub_reachable"]["status"] == "ok"
    assert checks["hub_session"]["status"] == "fail"
    assert "answered 404" in checks["hub_session"]["message"]
    assert "too old" in checks["hub_session"]["remediation"]


def test_hub_answers_we_cannot_use_are_clear_errors(sqlite_hub: Any) -> None:
    from spec_kitty.auth.errors import HubError
    from spec_kitty.auth.oauth import OAuthClient, OAuthError

    with OAuthClient(sqlite_hub.url) as oauth:
        with pytest.raises(OAuthError) as bad_grant:
            oauth.refresh("not-a-refresh-token")
        assert bad_grant.value.error == "invalid_grant" and bad_grant.value.status == 400
        assert "not-a-refresh-token" not in bad_grant.value.message
        with pytest.raises(HubError) as unauthorised:
            oauth.me("not-an-access-token")
        assert unauthorised.value.details["http_status"] == 401
        oauth.revoke("unknown-token")  # RFC 7009: unknown tokens are fine
    with OAuthClient(sqlite_hub.url + "/no-such-prefix") as wrong_path:
        with pytest.raises(HubError) as missing:
            wrong_path.start_device()
        assert missing.value.details["http_status"] == 404
    with OAuthClient("http://127.0.0.1:9") as nowhere, pytest.raises(HubError) as down:
        nowhere.start_device()
    assert down.value.code == "HUB_UNREACHABLE" and "127.0.0.1:9" in down.value.message


def test_a_session_others_could_read_is_refused_but_logout_still_revokes_it(
        hub_server: Any, tmp_path: Path) -> None:
    hub = hub_server
    user, store, leaked = login_new_user(hub, tmp_path)
    store.path.chmod(0o644)
    code, refused = sk_auth(hub, tmp_path, "whoami")
    assert code == 1 and refused["error_code"] == "SESSION_FILE_INSECURE"
    assert "auth logout" in refused["remediation"]
    code, out = sk_auth(hub, tmp_path, "logout")
    assert code == 0 and out["revoked"] is True and not store.path.exists()
    assert _refresh_directly(hub, leaked.refresh_token).status_code == 400
