"""The sync boundary against a real hub: protocol versioning on both sides, the account
switch guard with two users, ``sync status --check`` / ``sync doctor`` pinging the hub,
and dossier uploads kept in the scoped queue."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import pytest

from auth_cli import finish, read_prompt, start_login
from hub_fixtures import HubServer
from recording_proxy import RecordingProxy
from spec_kitty.core.sync import protocol as sync_protocol
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.scope import current_scope, last_scope
from sync_e2e_helpers import Member, hub_event_ids, member, planned_mission
from sync_hub_helpers import BATCH, Repo, post_batch

from helpers import parse_one_json, run_cli

pytestmark = pytest.mark.hub
HEADER = sync_protocol.HEADER


def _push(hub: HubServer, token: str, team: str, version: str | None) -> int:
    headers = {**hub.bearer(token), **({HEADER: version} if version is not None else {})}
    response = hub.http.post("/api/dossier/push-content/", headers=headers, json={
        "project_uuid": "6f1c7b8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f", "mission_slug": "m1",
        "artifact_path": "spec.md", "content_body": "# spec\n", "team_slug": team})
    return response.status_code


def test_hub_serves_protocol_2_and_refuses_others_with_guidance(hub_server: HubServer) -> None:
    hub = hub_server
    user = hub.create_user()
    token = hub.login(user)["access_token"]
    repo = Repo(user.private_team)
    for version, code in (("1.0", "client-too-old"), ("3.0", "client-too-new"),
                          ("two", "client-protocol-unparseable")):
        response = post_batch(hub.http, token, [repo.move("m1", "WP01", None, "planned", 1)],
                              **{HEADER: version})
        assert response.status_code == 412, response.text
        body = response.json()
        assert body["error_code"] == code
        assert body["sync_protocol"]["upgrade_guidance"]
        assert body["sync_protocol"]["served"] == [2]
        assert _push(hub, token, user.private_team, version) == 412
    assert "pip install --upgrade" in post_batch(
        hub.http, token, [repo.move("m1", "WP01", None, "planned", 1)],
        **{HEADER: "1.0"}).json()["sync_protocol"]["upgrade_guidance"]
    # accepted: today's version, a later minor, and no header (the classic CLI)
    for version in ("2.0", "2.7", None):
        event = repo.move("m1", "WP01", None, "planned", 2)
        extra = {HEADER: version} if version else {}
        response = post_batch(hub.http, token, [event], **extra)
        assert response.status_code == 200, response.text
        assert _push(hub, token, user.private_team, version) in (200, 201)
    # a protocol refusal costs the hub nothing: it still serves the batch endpoint
    assert hub.http.post(BATCH, json={"events": []}, headers=hub.bearer(token)).status_code \
        == 400


def test_cli_sends_its_protocol_and_stops_the_pass_on_412(
        sqlite_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordingProxy(sqlite_hub.url) as proxy:
        front = copy.copy(sqlite_hub)
        front.url = proxy.url
        ada = member(front, tmp_path, "ada", monkeypatch)
        planned_mission(ada)
        depth = ada.sync("status")["queue"]["depth"]
        assert depth > 0
        proxy.set_headers = {HEADER: "1.0"}  # the hub now sees a client it cannot serve
        proc = run_cli(["sync", "now"], ada.repo, env=ada.env)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr
        assert "pip install --upgrade" in proc.stdout and "protocol_mismatch" in proc.stdout
        summary = ada.sync("now", "--strict", ok=(1,))
        assert summary["blocker"]["category"] == "protocol_mismatch"
        assert summary["blocker"]["http_status"] == 412 and summary["synced"] == 0
        status = ada.sync("status")
        assert status["queue"]["depth"] == depth  # every event stays queued
        assert status["queue"]["retry_histogram"]["0 retries"] == depth  # no retry counted
        proxy.set_headers = {}
        summary = ada.sync("now")
        assert summary["synced"] == depth and summary["blocker"] is None
        assert summary["documents"]["pushed"] > 0
    uploads = [s for s in proxy.seen if s.path in (BATCH, "/api/dossier/push-content/")]
    assert {s.path for s in uploads} == {BATCH, "/api/dossier/push-content/"}
    assert {s.sync_protocol for s in uploads} == {sync_protocol.CURRENT}
    # the refused pass reached the hub once and stopped there (no document push)
    refused = [s for s in uploads if s.status == 412]
    assert [s.path for s in refused] == [BATCH, BATCH]


def _switch_login(hub: HubServer, cwd: Path, email: str, *args: str
                  ) -> tuple[int, dict]:
    proc = start_login(hub, cwd, "--headless", *args)
    line = read_prompt(proc, "enter the code:")
    hub.approve_device(line.rsplit(":", 1)[1].strip(), email)
    return finish(proc)


def test_login_as_another_account_with_events_pending_is_refused_unless_forced(
        sqlite_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = sqlite_hub
    ada = member(hub, tmp_path, "ada", monkeypatch)
    bob_user = hub.create_user()
    slug = planned_mission(ada)
    pending = ada.sync("status")["queue"]["depth"]
    assert pending > 0
    monkeypatch.setenv("SPEC_KITTY_HOME", str(ada.home))
    paths = RuntimePaths(ada.home)
    ada_scope = current_scope(paths)
    assert ada_scope is not None

    # another hub: refused before any login flow starts
    proc = run_cli(["auth", "login", "--headless", "--json"], ada.repo,
                   env={**ada.env, "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9"})
    answer = parse_one_json(proc.stdout)
    assert proc.returncode == 1 and answer["error_code"] == "ACCOUNT_SWITCH_PENDING"
    assert answer["pending"] == pending and answer["user"] == ada.user.email

    # log out, then in as bob: refused after the flow, nothing saved
    assert run_cli(["auth", "logout", "--json"], ada.repo, env=ada.env).returncode == 0
    code, answer = _switch_login(hub, ada.repo, bob_user.email)
    assert code == 1 and answer["error_code"] == "ACCOUNT_SWITCH_PENDING"
    assert f"{pending} event(s)" in answer["error"] and "--force" in answer["remediation"]
    assert not paths.session_file.exists()

    # --force switches and says what stays behind; the queues stay apart
    code, answer = _switch_login(hub, ada.repo, bob_user.email, "--force")
    assert code == 0 and answer["user"]["email"] == bob_user.email
    assert answer["stranded_events"]["pending"] == pending
    remembered = last_scope(paths)  # the login itself records bob as the last scope
    assert remembered is not None and remembered.user == bob_user.email
    bob_scope = current_scope(paths)
    assert bob_scope is not None and bob_scope.queue_path(paths) != ada_scope.queue_path(paths)
    assert ada.sync("status")["queue"]["depth"] == 0  # bob's queue: none of ada's events
    assert _depth(ada_scope.queue_path(paths)) == pending
    code, check = _check(ada)
    assert code == 0 and check["active_queue"]["path"] == str(bob_scope.queue_path(paths))

    # back as ada (bob has nothing pending): her events are delivered to her team
    code, answer = _switch_login(hub, ada.repo, ada.user.email, "--force")
    assert code == 0 and answer["stranded_events"] is None
    summary = ada.sync("now")
    assert summary["synced"] == pending and summary["pending"] == 0
    assert set(ada.log_ids(slug)) <= set(hub_event_ids(ada, ada.user.private_team, slug))


def _depth(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0])
    finally:
        conn.close()


def _check(person: Member) -> tuple[int, dict]:
    proc = run_cli(["sync", "status", "--check", "--json"], person.repo, env=person.env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, parse_one_json(proc.stdout)


def test_check_and_doctor_ping_the_hub_and_documents_stay_in_the_scoped_queue(
        sqlite_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ada = member(sqlite_hub, tmp_path, "ada", monkeypatch)
    code, check = _check(ada)
    assert code == 0 and check["ok"], check["problems"]
    assert check["hub"]["reachable"] and check["hub"]["http_status"] == 200
    assert check["hub"]["sync_protocol"] == sync_protocol.CURRENT
    doctor = ada.sync("doctor")
    assert doctor["ok"] and doctor["errors"] == 0, doctor["findings"]
    by_check = {f["check"]: f for f in doctor["findings"]}
    assert by_check["token"]["severity"] == "ok" and ada.user.email in by_check["token"][
        "message"]
    assert by_check["hub"]["severity"] == "ok"

    planned_mission(ada)
    summary = ada.sync("now")
    assert summary["documents"]["pushed"] > 0
    paths = RuntimePaths(ada.home)
    monkeypatch.setenv("SPEC_KITTY_HOME", str(ada.home))
    scope = current_scope(paths)
    assert scope is not None
    conn = sqlite3.connect(scope.queue_path(paths))
    try:
        stored = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    finally:
        conn.close()
    assert stored == summary["documents"]["pushed"]
    assert not (paths.root / "queue.db").exists()  # nothing went to the legacy queue

    # a token the hub does not accept: doctor names it and the fix
    from auth_helpers import rewrite_session
    from spec_kitty.auth.storage import SessionStore

    rewrite_session(SessionStore(paths), access_token="not-a-token-the-hub-issued")
    doctor = ada.sync("doctor", ok=(1,))
    token = next(f for f in doctor["findings"] if f["check"] == "token")
    assert token["severity"] == "error" and "rejects" in token["message"]
    assert "auth login" in token["fix"]
    assert run_cli(["auth", "logout", "--json"], ada.repo, env=ada.env).returncode == 0
    code, check = _check(ada)
    assert code == 2 and [p["code"] for p in check["problems"]] == ["not_logged_in"]


def test_sync_now_migrates_legacy_rows_first_and_delivers_them(
        sqlite_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from sync_hub_helpers import stored_count

    ada = member(sqlite_hub, tmp_path, "ada", monkeypatch)
    team = ada.user.private_team
    repo = Repo(team)
    events = [repo.move("legacy-mission", f"WP{n % 9 + 1:02d}", None, "planned", n)
              for n in range(120)]
    conn = sqlite3.connect(ada.home / "queue.db")  # what an older CLI left behind
    conn.executescript("CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id "
                       "TEXT UNIQUE NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL, "
                       "timestamp INTEGER NOT NULL, retry_count INTEGER DEFAULT 0, "
                       "coalesce_key TEXT)")
    conn.executemany("INSERT INTO queue (event_id, event_type, data, timestamp) "
                     "VALUES (?, ?, ?, ?)", [(e["event_id"], e["event_type"], json.dumps(e),
                                              1_700_000_000) for e in events])
    conn.commit()
    conn.close()
    code, check = _check(ada)
    assert code == 2 and check["legacy_queue"]["depth"] == 120
    before = stored_count(sqlite_hub, team)
    summary = ada.sync("now")
    assert summary["migrated"]["moved"] == 120 and summary["migrated"]["left"] == 0
    assert summary["synced"] == 120 and summary["pending"] == 0
    assert stored_count(sqlite_hub, team) == before + 120
    code, check = _check(ada)
    assert code == 0 and check["legacy_queue"]["depth"] == 0
