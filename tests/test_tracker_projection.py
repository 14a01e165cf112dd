"""Work packages as tickets: ``tracker project`` and lane changes that move tickets.

End to end through the real CLI: a mission projected to the GitHub double through a
real hub, then WP01 moved through the lanes with ``agent tasks move-task``; the lane
hook runs detached, so the test waits for the double to show each move (it never
asserts how long that takes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auth_cli import ON, headless_login, hub_env
from hub_fixtures import HubServer
from tracker_hub_helpers import connect_github

from doubles.fixtures import StandIn
from doubles.github import GitHubDouble
from helpers import parse_one_json, run_cli
from missions_fixture import make_mission

APPROVAL = json.dumps({"review": {"reviewer": "rev", "verdict": "approved",
                                  "reference": "PR#1"}})
SLUG = "demo-01JDEMQ0"


def sk(repo: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = run_cli([*args, "--json"], repo, env={**ON, **env})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return parse_one_json(proc.stdout)


def move(repo: Path, env: dict[str, str], wp: str, lane: str, *extra: str) -> None:
    sk(repo, env, "agent", "tasks", "move-task", wp, "--to", lane, "--mission", "demo", *extra)


def wait_for(condition: Callable[[], bool], what: str, hook_log: Path) -> None:
    """Poll until ``condition`` holds (generous bound, only so a bug cannot hang CI)."""
    deadline = time.monotonic() + 120
    while not condition():
        if time.monotonic() > deadline:
            log = hook_log.read_text() if hook_log.exists() else "(no hook log)"
            raise AssertionError(f"never saw {what}; hook log:\n{log}")
        time.sleep(0.2)


def issue_of(double: GitHubDouble, wp: str) -> dict[str, Any]:
    found = [i for i in double.issues.values() if i["title"].startswith(f"{wp}:")]
    assert len(found) == 1, [i["title"] for i in double.issues.values()]
    return found[0]


def labels(issue: dict[str, Any]) -> set[str]:
    return {label["name"] for label in issue["labels"]}


@pytest.mark.hub
def test_mission_projected_to_github_and_wp01_moves_its_ticket(
        sqlite_hub: HubServer, github_double: GitHubDouble, initialized_repo: Path,
        isolated_env: Path) -> None:
    repo, hub = initialized_repo, sqlite_hub
    make_mission(repo)
    user = hub.create_user()
    team = hub.create_team(owner=user.email)
    connect_github(hub, team, github_double)
    env = hub_env(hub)
    headless_login(hub, repo, user.email)
    sk(repo, env, "tracker", "bind", "--provider", "github", "--select", "1", "--egress",
       "permitted", "--doctrine-mode",
       "split_ownership", "--field-owner", "status=local", "--field-owner", "labels=local")
    projected = sk(repo, env, "tracker", "project", "--mission", "demo")
    assert [i["outcome"] for i in projected["items"]] == ["created"] * 3
    wp01 = issue_of(github_double, "WP01")
    assert {"spec-kitty", f"mission:{SLUG}", "lane:planned"} <= labels(wp01)
    assert "Storage layer" in wp01["title"] and wp01["state"] == "open"
    again = sk(repo, env, "tracker", "project", "--mission", "demo")
    assert [i["outcome"] for i in again["items"]] == ["updated"] * 3
    assert len(github_double.issues) == 3
    mappings = sk(repo, env, "tracker", "map", "list")["mappings"]
    assert sorted(m["wp_id"] for m in mappings) == ["WP01", "WP02", "WP03"]

    hook_log = isolated_env / ".kittify" / "trackers" / "hook.log"
    move(repo, env, "WP01", "claimed", "--actor", "claude")
    move(repo, env, "WP01", "in_progress")
    wait_for(lambda: {"lane:in_progress", "status:in-progress"} <= labels(
        issue_of(github_double, "WP01")), "WP01 in progress", hook_log)
    assert "lane:planned" not in labels(issue_of(github_double, "WP01"))
    sk(repo, env, "agent", "tasks", "mark-status", "T001", "T002", "--mission", "demo")
    move(repo, env, "WP01", "for_review", "--note", "ready")
    wait_for(lambda: {"lane:for_review", "status:in-review"} <= labels(
        issue_of(github_double, "WP01")), "WP01 in review", hook_log)
    move(repo, env, "WP01", "in_review", "--actor", "reviewer")
    move(repo, env, "WP01", "approved", "--evidence-json", APPROVAL)
    move(repo, env, "WP01", "done", "--evidence-json", APPROVAL)
    wait_for(lambda: issue_of(github_double, "WP01")["state"] == "closed"
             and "lane:done" in labels(issue_of(github_double, "WP01")), "WP01 done", hook_log)
    assert issue_of(github_double, "WP01")["state_reason"] == "completed"
    assert issue_of(github_double, "WP02")["state"] == "open"
    assert len(github_double.issues) == 3


def test_a_lane_change_never_waits_on_or_fails_with_the_tracker(
        initialized_repo: Path, isolated_env: Path) -> None:
    repo = initialized_repo
    make_mission(repo)
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "tracker:\n  provider: github\n  binding_ref: srm_x\n")
    hook_log = isolated_env / ".kittify" / "trackers" / "hook.log"
    off = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed", "--mission",
                   "demo", "--json"], repo, env={"SPEC_KITTY_ENABLE_SAAS_SYNC": ""})
    assert off.returncode == 0 and not hook_log.exists()  # gate off: no process at all
    # Gate on, but no egress consent: refused before any process starts (the mover opens
    # its log before it is started, so no log means no process).
    move(repo, {}, "WP02", "claimed")
    assert not hook_log.exists()
    config.write_text(config.read_text().replace("binding_ref: srm_x\n",
                                                 "binding_ref: srm_x\n  egress: permitted\n"))
    # Gate on, not logged in, no hub: the write still succeeds; the mover logs why.
    move(repo, {"SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9"}, "WP01", "in_progress")
    board = sk(repo, {}, "agent", "tasks", "status", "--mission", "demo")
    assert next(c["lane"] for c in board["work_packages"] if c["id"] == "WP01") == \
        "in_progress"
    wait_for(lambda: hook_log.exists() and "MISSING_AUTH" in hook_log.read_text(),
             "the mover's refusal", hook_log)


def test_local_beads_projection_moves_the_bead(initialized_repo: Path, bd_on_path: StandIn,
                                               isolated_env: Path) -> None:
    repo = initialized_repo
    make_mission(repo)
    sk(repo, {}, "tracker", "bind", "--provider", "beads", "--workspace", "demo",
       "--doctrine-mode", "spec_kitty_authoritative")
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "sync:\n  enabled: true\n")
    projected = sk(repo, {}, "tracker", "project", "--mission", "demo")
    assert [i["outcome"] for i in projected["items"]] == ["created"] * 3
    beads = bd_on_path.load(repo)["issues"]
    wp01 = next(b for b in beads.values() if b["title"].startswith("WP01:"))
    assert wp01["status"] == "open" and f"mission:{SLUG}" in wp01.get("labels", [])
    hook_log = isolated_env / ".kittify" / "trackers" / "hook.log"
    move(repo, {}, "WP01", "claimed", "--actor", "claude")
    move(repo, {}, "WP01", "in_progress")
    wait_for(lambda: bd_on_path.load(repo)["issues"][wp01["id"]]["status"] == "in_progress",
             "the bead in progress", hook_log)
    assert len(bd_on_path.load(repo)["issues"]) == 3
