"""Hostile input answers 4xx, never 500, on both backends; the hub keeps serving.

NUL characters anywhere a client can put one (below), and bodies larger than the hub
takes (at the end).

PostgreSQL refuses NUL in any text parameter (psycopg ``DataError``), SQLite does not:
these requests answered 500 on PostgreSQL only (and uvicorn dropped the connection).
Every request here goes over one keep-alive connection, so a 500 that closes it fails
the next request too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub_fixtures import HubServer, form_token
from sync_hub_helpers import Repo, post_batch, statuses, stored_count

pytestmark = pytest.mark.hub
NUL = "a%00b"


@pytest.fixture
def caller(hub_server: HubServer) -> tuple[Any, str, str]:
    user = hub_server.create_user()
    team = hub_server.create_team(owner=user.email)
    return user, team, hub_server.login(user)["access_token"]


def _refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.request.url, response.text)


def test_nul_in_api_paths_and_queries_is_a_400(hub_server: HubServer,
                                               caller: tuple[Any, str, str]) -> None:
    _, team, token = caller
    auth = hub_server.bearer(token)
    http = hub_server.http
    mission = f"/api/v1/teams/{team}/projects/{NUL}/missions/{NUL}"
    for path in (f"/api/v1/teams/{NUL}", f"/api/v1/teams/{NUL}/projects",
                 f"/api/v1/teams/{team}/projects/{NUL}/missions", f"{mission}/board",
                 f"{mission}/events", f"{mission}/documents",
                 f"/api/v1/teams/{team}/projects?x={NUL}"):
        response = http.get(path, headers=auth)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == "invalid_request"
    tracker = {**auth, "X-Team-Slug": team}
    _refused(http.get(f"/api/v1/tracker/operations/{NUL}/", headers=tracker))
    _refused(http.get("/api/v1/tracker/status/", headers=tracker,
                      params={"provider": "github", "project_slug": "a\x00b"}))
    assert http.get(f"/api/v1/teams/{team}", headers=auth).status_code == 200


def test_nul_in_team_pages_is_a_400(hub_server: HubServer,
                                    caller: tuple[Any, str, str]) -> None:
    user, team, _ = caller
    browser = hub_server.browser(user)
    mission = f"/t/{team}/p/{NUL}/m/{NUL}"
    for path in (f"/t/{NUL}", f"/t/{team}/p/{NUL}", mission, f"{mission}/timeline",
                 f"{mission}/wp/{NUL}", f"{mission}/documents/{NUL}", f"{mission}/live",
                 f"{mission}/events/stream", f"/device?user_code={NUL}"):
        response = browser.get(path)
        assert response.status_code == 400, path
        # Pages answer a page, the live JSON and the stream answer JSON.
        json_answer = path.endswith(("/live", "/stream"))
        assert response.headers["content-type"].startswith(
            "application/json" if json_answer else "text/html"), path
    assert browser.get(f"/t/{team}").status_code == 200


def test_nul_in_bodies_is_a_4xx_and_stores_nothing(hub_server: HubServer,
                                                   caller: tuple[Any, str, str]) -> None:
    user, team, token = caller
    http = hub_server.http
    tracker = {**hub_server.bearer(token), "X-Team-Slug": team, "Idempotency-Key": "k1"}
    for path in ("/api/v1/tracker/pull/", "/api/v1/tracker/run/",
                 "/api/v1/tracker/issue-search/", "/api/v1/tracker/list-tickets/"):
        _refused(http.post(path, headers=tracker,
                           json={"provider": "github", "project_slug": "a\x00b"}))

    anonymous = hub_server.browser()
    page = anonymous.get("/login").text
    signin = anonymous.post("/login", data={"email": "a\x00@example.com", "password": "p\x00",
                                            "csrf_token": form_token(page), "next": "/"})
    _refused(signin)

    repo = Repo(team=team)
    for field in ("team_slug", "project_uuid"):
        event = repo.move("m1", "WP01", None, "planned", 1)
        event[field] = "a\x00b"
        response = post_batch(http, token, [event])
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error_code"] == "invalid_events"
        assert any(f["field"] == field for d in body["details"] for f in d["fields"]), body
    assert stored_count(hub_server, team) == 0
    assert stored_count(hub_server, user.private_team) == 0
    assert statuses(post_batch(http, token, [repo.move("m1", "WP01", None, "planned", 1)],
                               team=team)) == ["success"]


MIB = 1 << 20


def _chunks(total: int, *, fields: bool = False) -> Any:
    """``total`` bytes in 64 KiB chunks, without a Content-Length; ``fields``: as many
    form fields of 64 KiB each (Starlette caps one field at 1 MiB, not their sum)."""
    for index in range(total // (64 * 1024)):
        yield (f"f{index}=".encode() + b"x" * 60000 + b"&") if fields else b"x" * 65536


def test_bodies_past_the_cap_are_refused_unread(hub_server: HubServer,
                                                caller: tuple[Any, str, str]) -> None:
    """Before the cap, FastAPI read a JSON or form body of any size into memory (and a
    422 echoed it back): tracker, OAuth and sign-in endpoints took 200 MB bodies."""
    user, team, token = caller
    http = hub_server.http
    tracker = {**hub_server.bearer(token), "X-Team-Slug": team, "Idempotency-Key": "k2",
               "Content-Type": "application/json"}
    huge = b'{"provider": "github", "project_slug": "' + b"x" * (20 * MIB) + b'"}'
    declared = http.post("/api/v1/tracker/pull/", headers=tracker, content=huge)
    assert declared.status_code == 413, declared.text[:300]
    assert declared.json()["error_code"] == "request_too_large"
    streamed = http.post("/api/v1/tracker/bind-resolve/", headers=tracker,
                         content=_chunks(20 * MIB))
    assert streamed.status_code == 413, streamed.text[:300]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token_form = http.post("/oauth/token", headers=form,
                           content=b"grant_type=refresh_token&refresh_token=" + b"x" * 20 * MIB)
    assert token_form.status_code == 413, token_form.text[:300]
    login_form = http.post("/login", headers=form, content=_chunks(20 * MIB, fields=True))
    assert login_form.status_code == 413, login_form.text[:300]
    # The sync endpoints keep their own cap and error shape.
    batch = http.post("/api/v1/events/batch/", content=_chunks(20 * MIB),
                      headers={**hub_server.bearer(token), "Content-Type": "application/json"})
    assert batch.status_code == 413, batch.text
    assert batch.json().get("error_code") == "oversized_batch", batch.text
    assert http.get(f"/api/v1/teams/{team}", headers=hub_server.bearer(token)).status_code \
        == 200
    assert user.private_team


def test_lone_surrogates_in_json_bodies_are_a_400(hub_server: HubServer,
                                                  caller: tuple[Any, str, str]) -> None:
    """Python's JSON parser accepts ``"\\ud800"``; the string then failed to encode as
    UTF-8 when stored or echoed in an error: 500 on every tracker endpoint."""
    _, team, token = caller
    http = hub_server.http
    tracker = {**hub_server.bearer(token), "X-Team-Slug": team, "Idempotency-Key": "k3",
               "Content-Type": "application/json"}
    for path in ("/api/v1/tracker/bind-resolve/", "/api/v1/tracker/bind-validate/",
                 "/api/v1/tracker/pull/", "/api/v1/tracker/push/",
                 "/api/v1/tracker/issue-search/", "/api/v1/tracker/mission-origin/bind/"):
        for body in (b'{"provider": "\\ud800"}',
                     b'{"provider": "github", "project_slug": "a\\udc00b"}'):
            response = http.post(path, headers=tracker, content=body)
            assert response.status_code == 400, (path, body, response.text)
            assert response.json()["error_code"] == "invalid_request"
    # A surrogate pair is one character, and an escaped backslash is no escape at all.
    for body in (b'{"provider": "github", "project_slug": "\\ud83d\\ude00"}',
                 b'{"provider": "github", "project_slug": "\\\\ud800"}'):
        response = http.post("/api/v1/tracker/pull/", headers=tracker, content=body)
        assert response.status_code == 404, response.text
        assert response.json()["error_code"] == "binding_not_found"
