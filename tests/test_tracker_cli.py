"""``spec-kitty tracker …`` and ``spec-kitty issue-search`` as subprocesses.

Local commands run against the ``bd`` stand-in; hub-backed ones against a real hub
with a GitHub connection to the double, logged in through ``auth login --headless``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from auth_cli import ON, headless_login, hub_env
from hub_fixtures import HubServer
from tracker_hub_helpers import connect_github

from doubles.fixtures import StandIn
from doubles.github import GitHubDouble
from helpers import parse_one_json, run_cli


def sk(cwd: Path, *args: str, env: dict[str, str] | None = None,
       input_text: str | None = None) -> tuple[int, dict[str, Any]]:
    proc = run_cli([*args, "--json"], cwd, env={**ON, **(env or {})}, input_text=input_text)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, parse_one_json(proc.stdout)


def test_the_group_and_issue_search_show_only_with_the_gate_on(initialized_repo: Path) -> None:
    on = run_cli(["--help"], initialized_repo, env=ON).stdout
    assert "tracker" in on and "issue-search" in on
    off = run_cli(["--help"], initialized_repo, env={"SPEC_KITTY_ENABLE_SAAS_SYNC": ""}).stdout
    assert "tracker" not in off and "issue-search" not in off
    code, answer = sk(initialized_repo, "tracker", "providers")
    assert code == 0 and answer == {"saas": ["linear", "jira", "github", "gitlab"],
                                    "local": ["beads", "fp"]}


def test_local_beads_bind_sync_map_and_hard_breaks(initialized_repo: Path,
                                                    bd_on_path: StandIn) -> None:
    repo = initialized_repo
    code, answer = sk(repo, "tracker", "bind", "--provider", "beads")
    assert code == 1 and answer["error"] == "--workspace is required for local providers."
    code, answer = sk(repo, "tracker", "bind", "--provider", "beads", "--workspace", "demo",
                      "--credential", "token=x")
    assert code == 1 and answer["error_code"] == "TRACKER_CREDENTIAL_UNKNOWN"
    code, answer = sk(repo, "tracker", "bind", "--provider", "beads", "--workspace", "demo",
                      "--doctrine-mode", "sideways")
    assert code == 1 and answer["error_code"] == "TRACKER_DOCTRINE_INVALID"
    code, answer = sk(repo, "tracker", "bind", "--provider", "beads", "--workspace", "demo",
                      "--doctrine-mode", "split_ownership", "--field-owner", "title=local",
                      "--credential", "command=bd", "--credential", f"cwd={repo}")
    assert code == 0 and answer["tracker"]["doctrine"]["field_owners"] == {"title": "local"}
    credentials = Path(os.environ["SPEC_KITTY_HOME"]) / "credentials"
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"
    assert f'cwd = "{repo}"' in credentials.read_text()
    bd_on_path.seed(repo, id="bd-1", title="Fix login", status="open", issue_type="bug",
                    priority=1, updated_at="2026-03-01T09:00:00Z")
    code, refused = sk(repo, "tracker", "sync", "pull")
    assert code == 1 and refused["error_code"] == "TRACKER_EGRESS_REFUSED"
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "sync:\n  enabled: true\n")
    code, pulled = sk(repo, "tracker", "sync", "pull")
    assert code == 0 and pulled["stats"]["pulled_created"] == 1
    code, mapped = sk(repo, "tracker", "map", "add", "--mission", "m-1", "--wp-id", "wp1",
                      "--external-id", "bd-1")
    assert code == 0 and mapped["wp_id"] == "WP01"
    code, listed = sk(repo, "tracker", "map", "list")
    assert [(m["mission_slug"], m["wp_id"]) for m in listed["mappings"]] == [("m-1", "WP01")]
    code, status = sk(repo, "tracker", "status")
    assert code == 0 and status["issue_count"] == 1 and status["mapping_count"] == 1
    assert status["credentials_present"] is True
    code, publish = sk(repo, "tracker", "sync", "publish")
    assert code == 1 and publish["error"].startswith(
        "Snapshot publish is not supported for local providers.")
    code, gone = sk(repo, "tracker", "unbind")
    assert code == 0 and gone["result"] == "unbound"
    assert "beads" not in credentials.read_text()


def test_hub_backed_hard_breaks_and_readiness_before_any_request(initialized_repo: Path) -> None:
    repo = initialized_repo
    code, answer = sk(repo, "tracker", "bind", "--provider", "github", "--credential", "token=x")
    assert code == 1 and answer["error"].startswith(
        "Direct provider credentials are no longer supported for github.")
    code, answer = sk(repo, "tracker", "bind", "--provider", "azure_devops")
    assert code == 1 and answer["error"] == "Provider 'azure_devops' is no longer supported."
    code, answer = sk(repo, "tracker", "discover", "--provider", "github")
    assert code == 1 and answer["error_code"] == "MISSING_AUTH"
    assert answer["remediation"] == "Run `spec-kitty auth login`."
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "tracker:\n  provider: github\n"
                      "  binding_ref: srm_x\n")
    code, answer = sk(repo, "tracker", "map", "add", "--mission", "m", "--wp-id", "WP01",
                      "--external-id", "1")
    assert code == 1 and answer["error_code"] == "TRACKER_MAPPING_HUB_MANAGED"
    code, answer = sk(repo, "tracker", "sync", "publish")
    assert answer["error"] == ("Snapshot publish is not supported for hub-backed providers. "
                               "Use `spec-kitty tracker sync push` instead.")
    code, answer = sk(repo, "tracker", "sync", "pull", env={"SPEC_KITTY_SAAS_URL": ""})
    assert code == 1 and answer["error_code"] == "MISSING_AUTH"
    code, answer = sk(repo, "issue-search", "--provider", "github", "--query", "#1")
    assert code == 1 and answer["error_code"] == "MISSING_AUTH"


def test_bind_refuses_bad_input_before_writing_anything(initialized_repo: Path) -> None:
    repo = initialized_repo
    config = repo / ".kittify" / "config.yaml"
    before = config.read_text()
    refused = {
        ("--provider", "azure_devops", "--egress", "permitted"): "TRACKER_PROVIDER_REMOVED",
        ("--provider", "github", "--credential", "token=x", "--egress", "permitted"):
            "TRACKER_CREDENTIALS_UNSUPPORTED",
        ("--provider", "beads", "--workspace", "demo", "--field-owner", "bogus=local",
         "--egress", "permitted"): "TRACKER_DOCTRINE_INVALID",
        ("--provider", "beads", "--workspace", "demo", "--credential", "token=x",
         "--egress", "permitted"): "TRACKER_CREDENTIAL_UNKNOWN",
        ("--provider", "beads", "--workspace", "demo", "--egress", "sometimes"):
            "TRACKER_EGRESS_INVALID",
        ("--provider", "beads", "--egress", "permitted"): "TRACKER_WORKSPACE_REQUIRED",
    }
    for args, error_code in refused.items():
        code, answer = sk(repo, "tracker", "bind", *args)
        assert (code, answer["error_code"]) == (1, error_code), args
        assert config.read_text() == before, args  # no egress, no half-made binding
    code, bound = sk(repo, "tracker", "bind", "--provider", "beads", "--workspace", "demo",
                     "--field-owner", "title=local", "--egress", "permitted")
    assert code == 0 and bound["tracker"]["egress"] == "permitted"
    code, status = sk(repo, "tracker", "status")
    assert code == 0 and status["field_owners"] == {"title": "local"}
    code, team_wide = sk(repo, "tracker", "status", "--all")  # hub-backed only
    assert (code, team_wide["error_code"]) == (1, "TRACKER_NOT_HUB")


def test_every_hub_backed_command_checks_readiness_first(initialized_repo: Path) -> None:
    from missions_fixture import make_mission

    repo = initialized_repo
    make_mission(repo)
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "tracker:\n  provider: github\n"
                      "  binding_ref: srm_x\n  egress: permitted\n")
    # A hard break comes before any prerequisite.
    code, answer = sk(repo, "tracker", "sync", "push")
    assert code == 1 and answer["error"] == (
        "--items-json is required for hub-backed providers (a JSON array of PushItems).")
    for args in (["tracker", "status"], ["tracker", "status", "--all"],
                 ["tracker", "list-tickets"], ["tracker", "map", "list"],
                 ["tracker", "map", "list", "--provider", "github"],
                 ["tracker", "discover", "--provider", "github"],
                 ["tracker", "bind", "--provider", "github", "--select", "1"],
                 ["tracker", "sync", "pull"], ["tracker", "sync", "run"],
                 ["tracker", "sync", "push", "--items-json", "-"],
                 ["tracker", "project", "--mission", "demo"],
                 ["issue-search", "--provider", "github", "--query", "#1"],
                 ["mission", "create", "--from-ticket", "github:#1"]):
        proc = run_cli([*args, "--json"], repo, env=ON, input_text="[]")
        answer = parse_one_json(proc.stdout)
        assert (proc.returncode, answer["error_code"]) == (1, "MISSING_AUTH"), args
        assert answer["remediation"] == "Run `spec-kitty auth login`.", args


@pytest.mark.hub
def test_hub_backed_commands_end_to_end(sqlite_hub: HubServer, github_double: GitHubDouble,
                                        initialized_repo: Path) -> None:
    repo, hub = initialized_repo, sqlite_hub
    user = hub.create_user()
    team = hub.create_team(owner=user.email)
    connect_github(hub, team, github_double)
    env = hub_env(hub)
    headless_login(hub, repo, user.email)
    code, refused = sk(repo, "tracker", "discover", "--provider", "github", env=env)
    assert code == 1 and refused["error_code"] == "TRACKER_EGRESS_REFUSED"  # no consent yet
    code, bound = sk(repo, "tracker", "bind", "--provider", "github", "--select", "1",
                     "--egress", "permitted", env=env)
    assert code == 0 and bound["tracker"]["binding_ref"].startswith("srm_")
    assert bound["tracker"]["egress"] == "permitted"
    code, found = sk(repo, "tracker", "discover", "--provider", "github", env=env)
    assert code == 0 and found["resources"][0]["number"] == 1
    assert found["resources"][0]["is_bound"] is True
    code, again = sk(repo, "tracker", "bind", "--provider", "github", env=env)
    assert code == 1 and again["error_code"] == "TRACKER_ALREADY_BOUND"
    items = [{"action": "create", "patch": {"title": "From the CLI", "body": "b"}}]
    code, pushed = sk(repo, "tracker", "sync", "push", "--items-json", "-", env=env,
                      input_text=json.dumps(items))
    assert code == 0 and pushed["items"][0]["outcome"] == "created"
    code, tickets = sk(repo, "tracker", "list-tickets", env=env)
    assert [t["title"] for t in tickets["tickets"]] == ["From the CLI"]
    code, search = sk(repo, "issue-search", "--provider", "github", "--query", "#1", env=env)
    assert code == 0 and search["candidates"][0]["title"] == "From the CLI"
    code, status = sk(repo, "tracker", "status", env=env)
    assert code == 0 and status["configured"] is True and "pending_binding_upgrade" in status
    code, pulled = sk(repo, "tracker", "sync", "pull", env=env)
    assert code == 0 and pulled["items"][0]["title"] == "From the CLI"
    code, missing = sk(repo, "tracker", "sync", "push", env=env)
    assert code == 1 and missing["error_code"] == "TRACKER_PUSH_ITEMS_REQUIRED"
