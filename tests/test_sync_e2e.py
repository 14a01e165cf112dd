"""End to end on a real hub: two users of one team sync their repositories' status
changes with `spec-kitty sync now`; the team's board shows them, another team sees none."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_fixtures import HubServer
from sync_e2e_helpers import hub_board, hub_event_ids, hub_get, member, planned_mission

from helpers import run_cli

pytestmark = pytest.mark.hub


def test_two_members_sync_to_their_team_and_only_there(
        hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = hub_server
    ada_user, bob_user = hub.create_user(), hub.create_user()
    team = hub.create_team(owner=ada_user.email, members=(bob_user.email,))
    ada = member(hub, tmp_path, "ada", monkeypatch, ada_user)
    bob = member(hub, tmp_path, "bob", monkeypatch, bob_user)
    outsider = member(hub, tmp_path, "eve", monkeypatch)
    for person in (ada, bob):
        assert person.sync("team", team)["team"] == team

    slugs = {}
    for person, lanes in ((ada, {"WP01": "in_progress", "WP02": "for_review"}),
                          (bob, {"WP03": "done", "WP04": "blocked"})):
        slug = slugs[person.user.email] = planned_mission(person)
        for wp, lane in lanes.items():
            person.move(slug, wp, lane)
        status = person.sync("status")
        assert status["drain_ready"] and status["queue"]["depth"] > 0
        summary = person.sync("now")
        assert summary["failed"] == 0 and summary["pending"] == 0 and not summary["blocker"]
        assert summary["synced"] == status["queue"]["depth"]
        # the hub's board of the team equals the local board, event for event
        assert hub_board(person, team, slug) == person.local_lanes(slug)
        assert set(person.log_ids(slug)) <= set(hub_event_ids(person, team, slug))
        assert person.sync("status")["last_sync"]["synced"] == summary["synced"]
        # the mission's documents went along, by content hash, once
        docs = hub_get(person, f"/api/v1/teams/{team}/projects/{person.project_uuid}/"
                       f"missions/{slug}/documents")
        by_path = {d["artifact_path"]: d["content_body"] for d in docs}
        spec = (person.repo / "kitty-specs" / slug / "spec.md").read_text()
        assert by_path["spec.md"] == spec and "tasks.md" in by_path
        assert any(path.startswith("tasks/WP01") for path in by_path)
        assert summary["documents"]["pushed"] == len(docs)
        assert person.sync("now")["documents"] == {"pushed": 0, "unchanged": len(docs),
                                                   "failed": [], "protocol_refused": None}

    # each member sees both projects of the team; a second drain sends nothing
    projects = hub_get(bob, f"/api/v1/teams/{team}/projects")
    assert {p["project_uuid"] for p in projects} == {ada.project_uuid, bob.project_uuid}
    assert ada.sync("now")["synced"] == 0
    idle = run_cli(["sync", "now"], ada.repo, env=ada.env).stdout
    assert "Synced: 0, Duplicates: 0, Failed: 0" in idle
    assert "spec-kitty sync backfill" in idle  # an empty queue says how to queue older events
    ada.move(slugs[ada.user.email], "WP01", "for_review")
    text = run_cli(["sync", "now"], ada.repo, env=ada.env).stdout
    assert "Synced: 1, Duplicates: 0, Failed: 0" in text

    # another team sees nothing of it, and cannot read the team's board
    assert hub_get(outsider, f"/api/v1/teams/{outsider.user.private_team}/projects") == []
    hub_get(outsider, f"/api/v1/teams/{team}/projects", status=404)
    assert hub_get(ada, f"/api/v1/teams/{ada.user.private_team}/projects") == []
