"""``mission create --from-ticket provider:KEY`` then ``agent mission create``: the ticket
becomes the mission's origin, on the hub first and then in meta.json (reference §5)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from auth_cli import ON, headless_login, hub_env
from hub_fixtures import HubServer
from tracker_hub_helpers import connect_github

from doubles.github import GitHubDouble
from helpers import parse_one_json, run_cli

pytestmark = pytest.mark.hub


def test_from_ticket_writes_the_context_and_binds_the_origin_hub_first(
        sqlite_hub: HubServer, github_double: GitHubDouble, initialized_repo: Path) -> None:
    from spec_kitty_hub.db.tracker_tables import TrackerMissionOrigin

    repo, hub = initialized_repo, sqlite_hub
    user = hub.create_user()
    team = hub.create_team(owner=user.email)
    connect_github(hub, team, github_double)
    created = httpx.post(f"{github_double.url}/repos/{github_double.repo}/issues",
                         headers={"Authorization": f"Bearer {github_double.token}"},
                         json={"title": "Login with SSO", "body": "Users want SSO.",
                               "labels": ["auth"]})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    env = {**ON, **hub_env(hub)}
    headless_login(hub, repo, user.email)
    assert run_cli(["tracker", "bind", "--provider", "github", "--select", "1", "--egress",
                    "permitted", "--json"],
                   repo, env=env).returncode == 0

    proc = run_cli(["mission", "create", "--from-ticket", f"github:#{number}", "--json"],
                   repo, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    answer = parse_one_json(proc.stdout)
    assert answer["issue_key"] == f"#{number}" and answer["title"] == "Login with SSO"
    context = (repo / ".kittify" / "ticket-context.md").read_text()
    assert context.startswith(f"# #{number}: Login with SSO") and "Users want SSO." in context
    assert "Labels: auth" in context
    assert ".kittify/pending-origin.yaml" in (repo / ".gitignore").read_text()

    proc = run_cli(["agent", "mission", "create", "login-sso", "--json"], repo, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = parse_one_json(proc.stdout)
    origin = result["origin_ticket"]
    assert set(origin) == {"provider", "resource_type", "resource_id", "external_issue_id",
                           "external_issue_key", "external_issue_url", "title"}
    assert (origin["provider"], origin["resource_type"], origin["resource_id"]) == \
        ("github", "github_repo", github_double.repo)
    meta = json.loads((Path(result["feature_dir"]) / "meta.json").read_text())
    assert meta["origin_ticket"] == origin
    assert not (repo / ".kittify" / "pending-origin.yaml").exists()
    with hub.db.read() as session:
        rows = session.scalars(select(TrackerMissionOrigin).where(
            TrackerMissionOrigin.mission_id == result["mission_id"])).all()
    assert [(r.external_issue_id, r.mission_slug) for r in rows] == \
        [(str(number), result["mission_slug"])]


def test_an_unreachable_hub_does_not_stop_mission_creation(initialized_repo: Path) -> None:
    repo = initialized_repo
    pending = repo / ".kittify" / "pending-origin.yaml"
    pending.write_text("provider: github\nissue_key: '#3'\nissue_id: '3'\ntitle: T\n")
    proc = run_cli(["agent", "mission", "create", "offline", "--json"], repo,
                   env={**ON, "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = parse_one_json(proc.stdout)
    assert result["origin_binding_error"]["error_code"] == "MISSING_AUTH"
    assert "origin_ticket" not in json.loads(Path(result["meta_file"]).read_text())
    assert pending.exists()  # kept for a later retry


def test_from_ticket_with_the_gate_off_refuses(initialized_repo: Path) -> None:
    proc = run_cli(["mission", "create", "--from-ticket", "github:#1", "--json"],
                   initialized_repo, env={"SPEC_KITTY_ENABLE_SAAS_SYNC": ""})
    assert proc.returncode == 1
    assert parse_one_json(proc.stdout)["error_code"] == "ROLLOUT_DISABLED"
    assert not (initialized_repo / ".kittify" / "ticket-context.md").exists()
