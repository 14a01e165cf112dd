"""Event sync on the real hub (SQLite and PostgreSQL): ingest, dedupe, the board
projection and the team-scoped read API."""

from __future__ import annotations

from typing import Any

import pytest

from hub_fixtures import HubServer
from sync_hub_helpers import Repo, post_batch, statuses, stored_count

pytestmark = pytest.mark.hub


def _signed_in(hub: HubServer) -> tuple[Any, str]:
    user = hub.create_user()
    return user, hub.login(user)["access_token"]


def _get(hub: HubServer, token: str, path: str) -> Any:
    response = hub.http.get(path, headers=hub.bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_health_advertises_the_ingest_limits(hub_server: HubServer) -> None:
    body = hub_server.http.get("/api/v1/sync/health/").json()
    assert body["status"] == "ok"
    limits = body["sync_ingress"]["limits"]
    assert limits["max_events_per_batch"] == 1000
    assert limits["max_decompressed_bytes_per_batch"] >= 524_288
    assert 0 < limits["retry_after_min_seconds"] <= limits["retry_after_max_seconds"]


def test_a_batch_is_stored_once_and_builds_the_board(hub_server: HubServer) -> None:
    hub = hub_server
    user, token = _signed_in(hub)
    repo = Repo(team=user.private_team)
    mission = "todo-cli-01KABC"
    events = [repo.created(mission, "WP01", "Parser", 0), repo.created(mission, "WP02", "CLI", 0),
              repo.created(mission, "WP03", "Docs", 0),
              repo.move(mission, "WP01", None, "planned", 1),
              repo.move(mission, "WP02", None, "planned", 1),
              repo.move(mission, "WP01", "planned", "claimed", 2),
              repo.move(mission, "WP01", "claimed", "in_progress", 3),
              repo.move(mission, "WP02", "planned", "blocked", 4, reason="waits on WP01")]
    first = post_batch(hub.http, token, events, team=user.private_team)
    assert statuses(first) == ["success"] * len(events)
    assert first.json()["summary"] == {"success": 8, "duplicate": 0, "rejected": 0}
    again = post_batch(hub.http, token, events[3:], gzip_body=False)  # team from envelopes
    assert statuses(again) == ["duplicate"] * 5
    assert stored_count(hub, user.private_team) == len(events)

    base = f"/api/v1/teams/{user.private_team}"
    projects = _get(hub, token, f"{base}/projects")
    assert [(p["project_uuid"], p["slug"], p["mission_count"]) for p in projects] == [
        (repo.project_uuid, "demo-repo", 1)]
    missions = _get(hub, token, f"{base}/projects/{repo.project_uuid}/missions")
    assert [m["mission_slug"] for m in missions] == [mission]
    assert missions[0]["event_count"] == 5
    assert {lane: n for lane, n in missions[0]["by_lane"].items() if n} == {
        "in_progress": 1, "blocked": 1}
    board = _get(hub, token, f"{base}/projects/{repo.project_uuid}/missions/{mission}/board")
    cards = {card["id"]: card for card in board["work_packages"]}
    assert {wp: (c["lane"], c["title"]) for wp, c in cards.items()} == {
        "WP01": ("in_progress", "Parser"), "WP02": ("blocked", "CLI"),
        "WP03": ("uninitialized", "Docs")}
    assert cards["WP02"]["blocked_reason"] == "waits on WP01"
    columns = {column["key"]: column["wp_ids"] for column in board["columns"]}
    assert columns["in_progress"] == ["WP01"] and columns["blocked"] == ["WP02"]
    assert columns["uninitialized"] == ["WP03"]
    assert cards["WP01"]["blocked_reason"] is None
    assert board["event_count"] == 5
    assert board["last_event_id"] == events[-1]["event_id"]
    assert {"columns", "by_lane", "progress", "problems"} <= set(board)
    history = _get(hub, token, f"{base}/projects/{repo.project_uuid}/missions/{mission}/events"
                               "?limit=5")
    assert [e["envelope"]["event_id"] for e in history["events"]] == [
        e["event_id"] for e in sorted(events, key=lambda e: e["event_id"])][:5]
    assert history["next_after"] is not None
    rest = _get(hub, token, f"{base}/projects/{repo.project_uuid}/missions/{mission}/events"
                            f"?after={history['next_after']}")
    assert len(rest["events"]) == 3 and rest["next_after"] is None


def test_occurrence_order_decides_the_lane_not_arrival(hub_server: HubServer) -> None:
    hub = hub_server
    user, token = _signed_in(hub)
    repo = Repo(team=user.private_team)
    later = repo.move("m1", "WP01", "claimed", "in_progress", 20)
    earlier = repo.move("m1", "WP01", "planned", "claimed", 10)
    forced = repo.move("m1", "WP02", "planned", "done", 5, force=True, reason="done elsewhere")
    assert statuses(post_batch(hub.http, token, [later, forced])) == ["success", "success"]
    assert statuses(post_batch(hub.http, token, [earlier])) == ["success"]
    board = _get(hub, token, f"/api/v1/teams/{user.private_team}/projects/"
                             f"{repo.project_uuid}/missions/m1/board")
    cards = {card["id"]: card for card in board["work_packages"]}
    assert cards["WP01"]["lane"] == "in_progress"
    assert cards["WP02"]["lane"] == "done" and cards["WP02"]["force_count"] == 1
    assert board["last_event_id"] == later["event_id"] and board["event_count"] == 3


def test_the_same_id_with_other_content_is_rejected(hub_server: HubServer) -> None:
    hub = hub_server
    user, token = _signed_in(hub)
    repo = Repo(team=user.private_team)
    original = repo.move("m1", "WP01", "planned", "claimed", 1)
    resent = {**original, "lamport_clock": original["lamport_clock"] + 7}
    forged = {**original, "payload": {**original["payload"], "to_lane": "blocked",
                                      "sync_lane": "doing"}}
    response = post_batch(hub.http, token, [original, resent, forged])
    assert statuses(response) == ["success", "duplicate", "rejected"]
    assert "other content" in response.json()["results"][2]["error"]
    again = post_batch(hub.http, token, [forged])
    assert statuses(again) == ["rejected"]
    assert "different content" in again.json()["results"][0]["error"]
    assert stored_count(hub, user.private_team) == 1


def test_a_team_sees_only_its_own_projects(hub_server: HubServer) -> None:
    hub = hub_server
    alice, alice_token = _signed_in(hub)
    bob, bob_token = _signed_in(hub)
    outsider, outsider_token = _signed_in(hub)
    shared = hub.create_team(owner=alice.email, members=(bob.email,))
    alice_repo, bob_repo = Repo(team=shared), Repo(team=shared, project_slug="bob-repo")
    assert statuses(post_batch(hub.http, alice_token,
                               [alice_repo.move("m-a", "WP01", None, "planned", 1)])) == [
        "success"]
    assert statuses(post_batch(hub.http, bob_token,
                               [bob_repo.move("m-b", "WP01", None, "planned", 1)],
                               team=shared)) == ["success"]
    seen = _get(hub, bob_token, f"/api/v1/teams/{shared}/projects")
    assert {p["project_uuid"] for p in seen} == {alice_repo.project_uuid, bob_repo.project_uuid}
    board = f"/api/v1/teams/{shared}/projects/{alice_repo.project_uuid}/missions/m-a/board"
    assert _get(hub, bob_token, board)["by_lane"]["planned"] == 1
    for path in (f"/api/v1/teams/{shared}/projects", board,
                 f"/api/v1/teams/{shared}/projects/{alice_repo.project_uuid}/missions",
                 board.replace("/board", "/events"), board.replace("/board", "/documents")):
        response = hub.http.get(path, headers=hub.bearer(outsider_token))
        assert response.status_code == 404, (path, response.text)
    assert _get(hub, outsider_token, f"/api/v1/teams/{outsider.private_team}/projects") == []
    # The outsider cannot reach the shared team's data through their own team either.
    own = f"/api/v1/teams/{outsider.private_team}/projects/{alice_repo.project_uuid}/missions"
    assert hub.http.get(own, headers=hub.bearer(outsider_token)).status_code == 404
    # Nor write into it.
    refused = post_batch(hub.http, outsider_token,
                         [alice_repo.move("m-a", "WP02", None, "planned", 2)])
    assert refused.status_code == 403 and refused.json()["error_code"] == "team_forbidden"


def test_dossier_bodies_are_stored_by_content_hash(hub_server: HubServer) -> None:
    import hashlib

    hub = hub_server
    user, token = _signed_in(hub)
    project = Repo(team=user.private_team).project_uuid
    body = {"project_uuid": project, "mission_slug": "m-doc", "artifact_path": "spec.md",
            "content_body": "# Spec\n\nUsers can add todos.\n", "target_branch": "main",
            "mission_type": "software-dev", "manifest_version": "1",
            "admission_generation": 3, "binding_audience": "teamspace"}
    digest = hashlib.sha256(body["content_body"].encode()).hexdigest()
    first = hub.http.post("/api/dossier/push-content/", json={**body, "content_hash": digest},
                          headers=hub.bearer(token))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "stored" and first.json()["team"] == user.private_team
    again = hub.http.post("/api/dossier/push-content/", json=body, headers=hub.bearer(token))
    assert again.status_code == 200 and again.json()["status"] == "already_exists"
    changed = hub.http.post("/api/dossier/push-content/",
                            json={**body, "content_body": "# Spec v2\n"},
                            headers=hub.bearer(token))
    assert changed.status_code == 201
    wrong = hub.http.post("/api/dossier/push-content/",
                          json={**body, "content_hash": "0" * 64}, headers=hub.bearer(token))
    assert wrong.status_code == 400 and wrong.json()["error_code"] == "hash_mismatch"
    escape = hub.http.post("/api/dossier/push-content/",
                           json={**body, "artifact_path": "../../etc/passwd"},
                           headers=hub.bearer(token))
    assert escape.status_code == 400
    refusals = [({"content_body": "x" * (512 * 1024 + 1)}, 413, "oversized_document"),
                ({"content_body": 7}, 400, "invalid_request"),
                ({"hash_algorithm": "md5"}, 400, "invalid_request"),
                ({"mission_slug": "a\u0000b"}, 400, "invalid_request"),
                ({"project_uuid": ""}, 400, "invalid_request"),
                ({"team_slug": "not-my-team"}, 403, "team_forbidden")]
    for change, status, code in refusals:
        refused = hub.http.post("/api/dossier/push-content/", json={**body, **change},
                                headers=hub.bearer(token))
        assert (refused.status_code, refused.json()["error_code"]) == (status, code), change
    not_json = hub.http.post("/api/dossier/push-content/", content=b"[1,",
                             headers=hub.bearer(token))
    assert not_json.status_code == 400 and not_json.json()["error_code"] == "invalid_json"
    docs = _get(hub, token, f"/api/v1/teams/{user.private_team}/projects/{project}"
                            "/missions/m-doc/documents")
    assert [(d["artifact_path"], d["content_body"], d["versions"]) for d in docs] == [
        ("spec.md", "# Spec v2\n", 2)]
    unauthenticated = hub.http.post("/api/dossier/push-content/", json=body)
    assert unauthenticated.status_code == 401


def test_uploads_naming_no_team_go_to_the_project_team_or_the_private_one(
        hub_server: HubServer) -> None:
    """The published CLI sends no X-Team-Slug and ``team_slug: null``."""
    hub = hub_server
    user, token = _signed_in(hub)
    shared = hub.create_team(owner=user.email)
    in_shared, fresh = Repo(team=shared), Repo(team=user.private_team)
    assert statuses(post_batch(hub.http, token, [in_shared.move("m", "WP01", None, "planned",
                                                                1)])) == ["success"]
    anonymous = [in_shared.move("m", "WP02", None, "planned", 2),
                 fresh.move("n", "WP01", None, "planned", 2)]
    for event in anonymous:
        event["team_slug"] = None
        event["build_id"] = ""  # as spec-kitty-cli 3.2.7 sends it
    assert statuses(post_batch(hub.http, token, anonymous[:1])) == ["success"]
    assert statuses(post_batch(hub.http, token, anonymous[1:])) == ["success"]
    board = _get(hub, token, f"/api/v1/teams/{shared}/projects/{in_shared.project_uuid}"
                             "/missions/m/board")
    assert [card["id"] for card in board["work_packages"]] == ["WP01", "WP02"]
    mine = _get(hub, token, f"/api/v1/teams/{user.private_team}/projects")
    assert [p["project_uuid"] for p in mine] == [fresh.project_uuid]
