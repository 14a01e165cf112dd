"""The hub's tracker endpoints on a real hub (SQLite and PostgreSQL) and the GitHub double."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub_fixtures import HubServer
from tracker_hub_helpers import connect_github, tracker_team, wp_item

from doubles.github import GitHubDouble

pytestmark = pytest.mark.hub


def test_connect_reads_the_secret_from_stdin_and_stores_it_encrypted(
        hub_server: HubServer, github_double: GitHubDouble) -> None:
    from spec_kitty_hub.db.tracker_tables import TrackerConnection

    team = hub_server.create_team()
    info = connect_github(hub_server, team, github_double)
    assert info["resource_id"] == github_double.repo and "token" not in info["settings"]
    with hub_server.db.read() as session:
        row = session.get(TrackerConnection, info["id"])
        assert row is not None
        assert github_double.token not in row.secret_ciphertext + row.settings_json
    listed = hub_server.admin("tracker", "list", "--team", team, "--json").stdout
    assert github_double.token not in listed and json.loads(listed)["connections"][0]["id"]
    refused = hub_server.admin("tracker", "connect", team, "github", "--set",
                               f"token={github_double.token}", "--set", "repo=o/r", "--json",
                               input="x\n", check=False)
    assert refused.returncode == 1
    assert "standard input" in json.loads(refused.stdout)["error"]


def test_bind_push_pull_search_and_origin(hub_server: HubServer,
                                          github_double: GitHubDouble) -> None:
    t = tracker_team(hub_server, github_double)
    resources = t.get("resources/", provider="github").json()["resources"]
    assert [r["provider_context"]["resource_id"] for r in resources] == [github_double.repo]
    project = str(uuid.uuid4())
    ref = t.bind(project)
    assert ref.startswith("srm_") and t.bind(project) == ref  # confirm is idempotent
    valid = t.post("bind-validate/", {"provider": "github", "binding_ref": ref,
                                      "project_identity": {"uuid": project}}).json()
    assert valid["valid"] is True
    mismatch = t.post("bind-validate/", {"provider": "github", "binding_ref": ref,
                                         "project_identity": {"uuid": "other"}}).json()
    assert mismatch == {"valid": False, "reason": "project_mismatch",
                        "guidance": "Run `spec-kitty tracker bind --provider github`."}

    pushed = t.post("push/", {"provider": "github", "binding_ref": ref,
                              "items": [wp_item("m-1", "WP01", add=("lane:planned",))]},
                    key="k-1")
    assert pushed.status_code == 200, pushed.text
    item = pushed.json()["items"][0]
    assert item["outcome"] == "created"
    number = int(item["remote_ref"]["id"])
    assert github_double.issues[number]["title"] == "WP01 of m-1"
    moved = t.post("push", {"provider": "github", "binding_ref": ref,  # no trailing slash
                            "items": [wp_item("m-1", "WP01", status="in_review",
                                              add=("lane:for_review",),
                                              remove=("lane:planned",))]}, key="k-2")
    assert moved.json()["items"][0]["outcome"] == "updated"
    labels = {label["name"] for label in github_double.issues[number]["labels"]}
    assert {"lane:for_review", "status:in-review"} <= labels and "lane:planned" not in labels
    assert len(github_double.issues) == 1

    mappings = t.get("mappings/", provider="github", binding_ref=ref).json()["mappings"]
    assert [(m["mission_slug"], m["wp_id"], m["external_id"]) for m in mappings] == \
        [("m-1", "WP01", str(number))]
    pulled = t.post("pull/", {"provider": "github", "binding_ref": ref, "limit": 10}).json()
    assert [i["ref"]["id"] for i in pulled["items"]] == [str(number)]
    assert pulled["items"][0]["status"] == "in_review" and pulled["next_cursor"]
    status = t.get("status/", provider="github", binding_ref=ref).json()
    assert status["configured"] and status["sync_state"]["last_pull_at"]
    assert t.get("status/", provider="github").json()["bindings"] == 1
    tickets = t.post("list-tickets/", {"provider": "github", "binding_ref": ref}).json()
    assert [x["key"] for x in tickets["tickets"]] == [f"#{number}"]
    found = t.post("issue-search/", {"provider": "github", "query_key": f"#{number}",
                                     "binding_ref": ref}).json()
    assert found["candidates"][0]["title"] == "WP01 of m-1"
    assert found["resource_type"] == "github_repo"

    origin = {"provider": "github", "binding_ref": ref, "mission_id": "01ABC",
              "mission_slug": "m-1", "external_issue_id": str(number),
              "external_issue_key": f"#{number}"}
    first = t.post("mission-origin/bind/", origin, key="o-1")
    assert first.status_code == 200 and first.json()["replayed"] is False
    assert t.post("mission-origin/bind/", origin, key="o-2").json()["replayed"] is True
    other = t.post("mission-origin/bind/", {**origin, "external_issue_id": "999"}, key="o-3")
    assert other.status_code == 409
    assert other.json()["code"] == other.json()["error_code"] == "already_bound"


def test_simultaneous_first_binds_of_one_origin_are_idempotent(
        hub_server: HubServer, github_double: GitHubDouble) -> None:
    t = tracker_team(hub_server, github_double)
    ref = t.bind()
    answers: list[httpx.Response] = []
    start_line = threading.Barrier(20)

    def bind(mission: int, n: int, issue: str) -> None:
        body = {"provider": "github", "binding_ref": ref, "mission_id": f"01RACE{mission}",
                "mission_slug": f"race-{mission}", "external_issue_id": issue}
        with httpx.Client(base_url=hub_server.url, trust_env=False, timeout=60) as client:
            client.get("/healthz")  # connected before the start line
            start_line.wait()
            answers.append(client.post("/api/v1/tracker/mission-origin/bind/", json=body,
                                       headers={**t.headers, "Idempotency-Key": f"r{n}"}))

    # Per mission, four requests at once: three the same origin, one another issue.
    threads = [threading.Thread(target=bind, args=(m, n, "7" if n % 4 else "8"))
               for m in range(5) for n in range(m * 4, m * 4 + 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted({a.status_code for a in answers}) in ([200], [200, 409]), \
        [a.text for a in answers if a.status_code not in (200, 409)]
    for mission in range(5):
        mine = [a.json() for a in answers if a.status_code == 200
                and a.json()["mission_slug"] == f"race-{mission}"]
        assert sum(not a["replayed"] for a in mine) == 1  # exactly one bound it
        assert len({a["external_issue_id"] for a in mine}) == 1
    assert sum(a.status_code == 200 for a in answers) + \
        sum(a.status_code == 409 for a in answers) == 20


def test_everything_is_team_scoped(hub_server: HubServer, github_double: GitHubDouble) -> None:
    a = tracker_team(hub_server, github_double)
    b = tracker_team(hub_server, github_double)
    ref = a.bind()
    stolen = b.post("pull/", {"provider": "github", "binding_ref": ref})
    assert stolen.status_code == 404 and stolen.json()["error_code"] == "binding_not_found"
    foreign_team = hub_server.http.get("/api/v1/tracker/status/", params={"provider": "github"},
                                       headers={**b.headers, "X-Team-Slug": a.team})
    assert foreign_team.status_code == 404
    assert foreign_team.json()["code"] == "team_not_found"
    assert hub_server.http.get("/api/v1/tracker/status/",
                               params={"provider": "github"}).status_code == 401
    missing = b.post("push/", {"provider": "github", "items": []}, key="x")
    assert missing.status_code == 400 and missing.json()["code"] == "missing_routing_key"
    no_key = a.post("push/", {"provider": "github", "binding_ref": ref, "items": []})
    assert no_key.json()["error_code"] == "missing_idempotency_key"


def test_async_push_is_a_job_polled_to_completion_and_a_replayed_key_makes_no_duplicate(
        hub_server: HubServer, github_double: GitHubDouble) -> None:
    t = tracker_team(hub_server, github_double)
    ref = t.bind()
    body = {"provider": "github", "binding_ref": ref, "items": [wp_item("m-2", "WP01")]}
    accepted = t.post("push/", body, key="once", headers={"Prefer": "respond-async"})
    assert accepted.status_code == 202, accepted.text
    operation_id = accepted.json()["operation_id"]
    done = t.wait_operation(operation_id)
    assert done["status"] == "completed"
    assert done["result"]["items"][0]["outcome"] == "created"
    again = t.post("push/", body, key="once")
    assert again.headers.get("Idempotency-Replayed") == "true"
    assert again.json() == done["result"]
    assert len(github_double.issues) == 1
    reused = t.post("push/", {**body, "items": []}, key="once")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"


def test_concurrent_workers_never_claim_one_job_twice(hub_server: HubServer) -> None:
    """Two in-process workers and the hub's own worker race for 30 jobs."""
    from spec_kitty_hub.db.models import Team
    from spec_kitty_hub.db.tracker_tables import TrackerJob
    from spec_kitty_hub.tracker import jobs

    slug = hub_server.create_team()
    with hub_server.db.write() as session:
        team_id = session.scalar(select(Team.id).where(Team.slug == slug))
        assert team_id is not None
        ids = [jobs.enqueue(session, team_id, "srm_missing", "push", {"items": [n]},
                            f"race-{n}")[0].id for n in range(30)]
    claimed: dict[str, list[str]] = {"a": [], "b": []}

    def work(name: str) -> None:
        from spec_kitty_hub.db.engine import Database

        db = Database(hub_server.database_url)
        try:
            while (claim := jobs.claim_next(db, f"test-{name}")) is not None:
                claimed[name].append(claim.job_id)
                assert jobs.finish(db, claim, error={"code": "test"})
        finally:
            db.dispose()

    threads = [threading.Thread(target=work, args=(n,)) for n in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    # The hub's own worker may still be finishing the job it claimed when both threads
    # ran dry: wait for it (bounded), rather than assume it is done by now.
    deadline = time.monotonic() + 60
    while True:
        with hub_server.db.read() as session:
            rows = session.scalars(select(TrackerJob).where(TrackerJob.id.in_(ids))).all()
        if all(row.status != "running" for row in rows) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(rows) == 30
    assert [(row.id, row.attempt, row.status) for row in rows
            if (row.attempt, row.status) != (1, "failed")] == []


def _second_hub(hub: HubServer) -> HubServer:
    second = HubServer(backend=hub.backend, database_url=hub.database_url,
                       workdir=hub.workdir)
    second.start()
    return second


def test_two_hub_processes_run_each_job_once(postgres_hub: HubServer,
                                             github_double: GitHubDouble) -> None:
    t = tracker_team(postgres_hub, github_double)
    ref = t.bind()
    second = _second_hub(postgres_hub)
    try:
        operations: list[str] = []
        for n in range(8):
            http = (postgres_hub if n % 2 else second).http
            response = http.post("/api/v1/tracker/push/", json={
                "provider": "github", "binding_ref": ref,
                "items": [wp_item("m-3", f"WP{n + 1:02d}")]},
                headers={**t.headers, "Idempotency-Key": f"two-{n}",
                         "Prefer": "respond-async"})
            assert response.status_code == 202, response.text
            operations.append(response.json()["operation_id"])
        results: list[dict[str, Any]] = [t.wait_operation(op) for op in operations]
    finally:
        second.stop()
    assert all(r["status"] == "completed" for r in results)
    assert len(github_double.issues) == 8
    from spec_kitty_hub.db.tracker_tables import TrackerJob

    with postgres_hub.db.read() as session:
        rows = session.scalars(select(TrackerJob).where(TrackerJob.id.in_(operations))).all()
    assert sorted(row.attempt for row in rows) == [1] * 8


def test_a_dead_workers_job_is_taken_over_and_its_late_result_discarded(
        hub_server: HubServer) -> None:
    from datetime import timedelta

    from spec_kitty_hub.db.engine import Database
    from spec_kitty_hub.db.models import Team, utcnow
    from spec_kitty_hub.db.tracker_tables import TrackerJob
    from spec_kitty_hub.tracker import jobs

    slug = hub_server.create_team()
    db = Database(hub_server.database_url)
    try:
        with db.write() as session:
            team_id = session.scalar(select(Team.id).where(Team.slug == slug))
            assert team_id is not None
            # Not claimable by the hub's own worker: its lease is still running.
            job, _ = jobs.enqueue(session, team_id, "srm_x", "push", {"items": []}, "takeover")
            job.status, job.attempt, job.claimed_by = "running", 1, "dead-worker"
            job.lease_until = utcnow() + timedelta(minutes=5)
            job_id = job.id
        first = jobs.Claim(job_id, 1, team_id, "srm_x", "push", "takeover", {"items": []})
        assert jobs.renew(db, first)  # alive: the lease moves on
        with db.write() as session:
            stored = session.get(TrackerJob, job_id)
            assert stored is not None
            stored.lease_until = utcnow() - timedelta(seconds=1)  # the worker died
        # Taken over by another worker: this one, or the hub's own job thread.
        while (claim := jobs.claim_next(db, "rescuer")) is not None:
            jobs.finish(db, claim, result={"status": "ok"})
        deadline = time.monotonic() + 120  # bounded only so a bug cannot hang the suite
        while True:
            with db.read() as session:
                stored = session.get(TrackerJob, job_id)
                assert stored is not None
                if stored.status in ("completed", "failed"):
                    break
            assert time.monotonic() < deadline, f"job still {stored.status}"
            time.sleep(0.1)
        assert stored.attempt == 2 and stored.claimed_by != "dead-worker"
        outcome = (stored.status, stored.result_json, stored.error_json)
        assert not jobs.finish(db, first, result={"status": "late"})  # fenced out
        assert not jobs.renew(db, first)
        with db.read() as session:
            again = session.get(TrackerJob, job_id)
            assert again is not None
            assert (again.status, again.result_json, again.error_json) == outcome
    finally:
        db.dispose()
