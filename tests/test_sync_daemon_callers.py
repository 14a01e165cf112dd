"""Who may start the daemon: a hub-backed tracker sync declares ``REMOTE_REQUIRED`` (the
queue keeps flowing), other commands never start one. Real hub, real CLI subprocesses."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from auth_cli import ON, headless_login, hub_env
from daemon_helpers import Daemons, daemon_pids, record, wait_for
from hub_fixtures import HubServer
from tracker_hub_helpers import connect_github

from doubles.github import GitHubDouble
from helpers import parse_one_json, run_cli


def sk(cwd: Path, *args: str, env: dict[str, str] | None = None,
       input_text: str | None = None) -> tuple[int, dict[str, Any]]:
    proc = run_cli([*args, "--json"], cwd, env={**ON, **(env or {})}, input_text=input_text)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, parse_one_json(proc.stdout)


@pytest.mark.hub
def test_hub_backed_tracker_sync_starts_the_daemon_other_commands_do_not(
        daemons: Daemons, sqlite_hub: HubServer, github_double: GitHubDouble,
        initialized_repo: Path) -> None:
    from spec_kitty.hosted.config import set_setting
    from spec_kitty.hosted.runtime import RuntimePaths

    repo, hub = initialized_repo, sqlite_hub
    home = Path(os.environ["SPEC_KITTY_HOME"])
    user = hub.create_user()
    team = hub.create_team(owner=user.email)
    connect_github(hub, team, github_double)
    env = hub_env(hub)
    headless_login(hub, repo, user.email)
    code, _ = sk(repo, "tracker", "bind", "--provider", "github", "--select", "1",
                 "--egress", "permitted", env=env)
    assert code == 0
    code, _ = sk(repo, "tracker", "status", env=env)  # talks to the hub, but LOCAL_ONLY
    assert code == 0
    assert daemon_pids(home) == [] and record(home) is None
    set_setting("sync", "background_daemon", "manual", RuntimePaths(home))
    code, pulled = sk(repo, "tracker", "sync", "pull", env=env)  # manual: nothing starts
    assert code == 0 and "items" in pulled
    assert daemon_pids(home) == [] and record(home) is None
    set_setting("sync", "background_daemon", "auto", RuntimePaths(home))
    items = [{"action": "create", "patch": {"title": "From the CLI", "body": "b"}}]
    code, pushed = sk(repo, "tracker", "sync", "push", "--items-json", "-", env=env,
                      input_text=json.dumps(items))
    assert code == 0 and pushed["items"][0]["outcome"] == "created"
    owner = wait_for(lambda: record(home), "the daemon started by tracker sync push")
    assert owner.server_url.rstrip("/") == hub.url.rstrip("/")
    wait_for(lambda: daemon_pids(home) == [owner.pid], "exactly one daemon")
    code, _ = sk(repo, "tracker", "sync", "pull", env=env)  # reuses it
    assert code == 0 and daemon_pids(home) == [owner.pid]
