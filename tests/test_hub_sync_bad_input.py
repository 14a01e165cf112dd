"""Bad input on the hub's sync endpoints: a clear 4xx, nothing stored, the hub keeps
serving (real hub on SQLite and PostgreSQL; the 429 path in-process)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hub_fixtures import HubServer
from sync_hub_helpers import BATCH, Repo, post_batch, statuses, stored_count

pytestmark = pytest.mark.hub


@pytest.fixture
def caller(hub_server: HubServer) -> tuple[Any, str]:
    user = hub_server.create_user()
    return user, hub_server.login(user)["access_token"]


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code and body["error"], body
    return body


def _still_serving(hub: HubServer, token: str, team: str) -> None:
    assert hub.http.get("/api/v1/sync/health/").status_code == 200
    ok = post_batch(hub.http, token, [Repo(team=team).move("m", "WP01", None, "planned", 1)])
    assert statuses(ok) == ["success"]


def test_malformed_envelopes_are_listed_by_event_id_and_nothing_is_stored(
        hub_server: HubServer, caller: tuple[Any, str]) -> None:
    user, token = caller
    repo = Repo(team=user.private_team)
    good = repo.move("m1", "WP01", None, "planned", 1)
    no_type = {k: v for k, v in repo.move("m1", "WP02", None, "planned", 1).items()
               if k != "event_type"}
    bad_lane = repo.move("m1", "WP03", None, "planned", 1)
    bad_lane["payload"] = {**bad_lane["payload"], "to_lane": "limbo"}
    bad_stamp = {**repo.move("m1", "WP04", None, "planned", 1), "timestamp": "yesterday"}
    legacy = repo.move("m1", "WP05", None, "planned", 1)
    legacy["payload"] = {**legacy["payload"], "feature_slug": "001-old"}
    deep = repo.move("m1", "WP06", None, "planned", 1)
    nested: dict[str, Any] = {}
    deep["payload"]["evidence"] = nested
    for _ in range(200):  # deeper than any validator or encoder should be asked to walk
        nested["next"] = {}
        nested = nested["next"]
    response = post_batch(hub_server.http, token,
                          [good, no_type, bad_lane, bad_stamp, legacy, "not an object", deep])
    body = _error(response, 400, "invalid_events")
    details = {d["event_id"]: d for d in body["details"]}
    assert set(details) == {no_type["event_id"], bad_lane["event_id"], bad_stamp["event_id"],
                            legacy["event_id"], None, deep["event_id"]}
    assert "nested" in details[deep["event_id"]]["reason"]
    assert "event_type" in details[no_type["event_id"]]["reason"]
    assert any(f["field"] == "payload.to_lane" for f in details[bad_lane["event_id"]]["fields"])
    assert "timestamp" in details[bad_stamp["event_id"]]["error"]
    assert "feature_slug" in details[legacy["event_id"]]["reason"]
    assert details[None]["index"] == 5
    assert good["event_id"] not in details
    assert stored_count(hub_server, user.private_team) == 0
    _still_serving(hub_server, token, user.private_team)


def test_body_shapes_that_are_not_a_batch(hub_server: HubServer,
                                          caller: tuple[Any, str]) -> None:
    user, token = caller
    auth = hub_server.bearer(token)
    http = hub_server.http
    assert _error(http.post(BATCH, json={"events": []}, headers=auth), 400,
                  "no_events")["error"] == "No events provided"
    _error(http.post(BATCH, content=b"{not json", headers=auth), 400, "invalid_json")
    _error(http.post(BATCH, content=b"\x00\xff garbage", headers=auth), 400, "invalid_json")
    _error(http.post(BATCH, json=[1, 2], headers=auth), 400, "invalid_batch")
    _error(http.post(BATCH, json={"events": {"a": 1}}, headers=auth), 400, "invalid_batch")
    _error(http.post(BATCH, content=b"\x1f\x8b\x08\x00corrupt",
                     headers={**auth, "Content-Encoding": "gzip"}), 400, "bad_gzip")
    _error(http.post(BATCH, content=gzip.compress(b'{"events": [1]}')[:-12],
                     headers={**auth, "Content-Encoding": "gzip"}), 400, "bad_gzip")
    _error(http.post(BATCH, content=b"{}", headers={**auth, "Content-Encoding": "br"}),
           415, "unsupported_encoding")
    two = [Repo(team=user.private_team).move("m", "WP01", None, "planned", 1),
           Repo(team="someone-else").move("m", "WP01", None, "planned", 1)]
    _error(post_batch(http, token, two), 400, "invalid_batch")
    assert stored_count(hub_server, user.private_team) == 0
    _still_serving(hub_server, token, user.private_team)


def test_tokens_and_teams_are_checked_before_anything_is_stored(
        hub_server: HubServer, caller: tuple[Any, str]) -> None:
    user, token = caller
    other = hub_server.create_user()
    event = Repo(team=other.private_team).move("m", "WP01", None, "planned", 1)
    missing = hub_server.http.post(BATCH, json={"events": [event]})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    forged = post_batch(hub_server.http, "not-a-token", [event])
    assert forged.status_code == 401
    _error(post_batch(hub_server.http, token, [event]), 403, "team_forbidden")
    _error(post_batch(hub_server.http, token, [event], team="no-such-team"), 403,
           "team_forbidden")
    # The header names the caller's team but the envelope names another: refused per event.
    mismatch = post_batch(hub_server.http, token, [event], team=user.private_team)
    details = _error(mismatch, 400, "invalid_events")["details"]
    assert details[0]["fields"][0]["code"] == "TEAM_MISMATCH"
    assert stored_count(hub_server, other.private_team) == 0
    assert stored_count(hub_server, user.private_team) == 0


def test_oversized_bodies_and_gzip_bombs_get_413(hub_server: HubServer,
                                                  caller: tuple[Any, str]) -> None:
    user, token = caller
    auth = {**hub_server.bearer(token), "Content-Type": "application/json"}
    http = hub_server.http
    limit = http.get("/api/v1/sync/health/").json()["sync_ingress"]["limits"]
    ten_mb = b'{"events": [' + b'"' + b"x" * (10 * 1024 * 1024) + b'"]}'
    _error(http.post(BATCH, content=ten_mb, headers=auth), 413, "oversized_batch")

    def chunked() -> Any:  # no Content-Length: the hub must count while reading
        for _ in range(40):
            yield b" " * (256 * 1024)

    _error(http.post(BATCH, content=chunked(), headers=auth), 413, "oversized_batch")
    # 1 GiB of zeros inflates from ~1 MiB of gzip; streamed so the test never holds it.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"0" * (1 << 20)
    bomb = b"".join(compressor.compress(block) for _ in range(1024)) + compressor.flush()
    assert len(bomb) < limit["max_decompressed_bytes_per_batch"]
    _error(http.post(BATCH, content=bomb, headers={**auth, "Content-Encoding": "gzip"}), 413,
           "oversized_batch")
    repo = Repo(team=user.private_team)
    many = [repo.move("m", f"WP{i:02d}", None, "planned", 1)
            for i in range(limit["max_events_per_batch"] + 1)]
    _error(post_batch(http, token, many), 413, "oversized_batch")
    assert stored_count(hub_server, user.private_team) == 0
    _still_serving(hub_server, token, user.private_team)


def test_a_busy_worker_answers_429_with_retry_after(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from spec_kitty_hub.api.app import create_app
    from spec_kitty_hub.config import Settings
    from spec_kitty_hub.db import migrate
    from spec_kitty_hub.db.engine import Database
    from spec_kitty_hub.services.accounts import create_user
    from spec_kitty_hub.services.tokens import start_session

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
                        ingest_concurrency=1)
    db = Database(settings.database_url)
    migrate.upgrade(db.engine)
    with db.write() as session:
        user, team = create_user(session, "busy@example.com", "Busy", "long password")
        tokens = start_session(session, settings, user_id=user.id, scope="offline_access",
                               auth_method="device_code")
    db.dispose()
    app = create_app(settings)
    event = Repo(team=team.slug).move("m", "WP01", None, "planned", 1)
    body = orjson.dumps({"events": [event]})
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    with TestClient(app) as client:
        first = client.post(BATCH, content=body, headers=headers)
        assert first.status_code == 200, first.text
        slots = app.state.ingest_slots
        assert slots.try_acquire()  # another batch is in progress on this worker
        try:
            busy = client.post(BATCH, content=body, headers=headers)
        finally:
            slots.release()
        assert busy.status_code == 429
        assert busy.json()["error_code"] == "throttled"
        assert 1 <= int(busy.headers["Retry-After"]) <= 60
        assert client.post(BATCH, content=body, headers=headers).json()["results"][0][
            "status"] == "duplicate"
