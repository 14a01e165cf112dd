"""Consent for hub-backed tracker commands, counted at the hub's door.

The CLI is logged in to a real hub through a loopback recording proxy, so every
request any ``spec-kitty`` process sends to the hub is seen by the proxy. With the
tracker egress refused (explicitly, or because no decision is recorded) every
hub-backed tracker command must exit 1 with the consent message and send nothing at
all: the refusal comes before any HTTP call (docs/trackers.md "Consent").
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from auth_cli import ON, headless_login, hub_env
from hub_fixtures import HubServer
from recording_proxy import RecordingProxy
from tracker_hub_helpers import connect_github

from doubles.github import GitHubDouble
from helpers import parse_one_json, run_cli

pytestmark = pytest.mark.hub

HUB_BACKED = (
    ["tracker", "discover", "--provider", "github"],
    ["tracker", "bind", "--provider", "github", "--select", "1"],
    ["tracker", "status"],
    ["tracker", "map", "list"],
    ["tracker", "list-tickets"],
    ["tracker", "sync", "pull"],
    ["tracker", "sync", "run"],
    ["tracker", "sync", "push", "--items-json", "-"],
    ["tracker", "project", "--mission", "demo"],
    ["issue-search", "--provider", "github", "--query", "#1"],
)


def test_refused_egress_sends_no_request_to_the_hub(
        sqlite_hub: HubServer, github_double: GitHubDouble, initialized_repo: Path) -> None:
    from missions_fixture import make_mission

    repo, hub = initialized_repo, sqlite_hub
    make_mission(repo)
    user = hub.create_user()
    team = hub.create_team(owner=user.email)
    connect_github(hub, team, github_double)
    config = repo / ".kittify" / "config.yaml"
    with RecordingProxy(hub.url) as proxy:
        front = copy.copy(hub)  # the CLI knows the hub only by the proxy's address
        front.url = proxy.url
        env = hub_env(front)
        headless_login(front, repo, user.email)
        proc = run_cli(["tracker", "bind", "--provider", "github", "--select", "1",
                        "--egress", "permitted", "--json"], repo, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # The control: with consent, a tracker command does reach the hub through the proxy.
        proxy.seen.clear()
        proc = run_cli(["tracker", "list-tickets", "--json"], repo, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert any(seen.path.startswith("/api/v1/tracker/") for seen in proxy.seen)
        permitted = config.read_text()
        assert "egress: permitted" in permitted
        for decision, channel in (("egress: refused", "tracker.egress"), ("", "none")):
            config.write_text(permitted.replace("egress: permitted", decision))
            proxy.seen.clear()
            for args in HUB_BACKED:
                proc = run_cli([*args, "--json"], repo, env={**ON, **env}, input_text="[]")
                assert "Traceback" not in proc.stderr, proc.stderr
                answer = parse_one_json(proc.stdout)
                assert (proc.returncode, answer["error_code"]) == \
                    (1, "TRACKER_EGRESS_REFUSED"), (decision, args, answer)
                assert answer["error"].startswith("Tracker requests to the hub refused"), args
                assert answer["channel"] == channel, answer
            assert [(s.method, s.path) for s in proxy.seen] == [], decision
