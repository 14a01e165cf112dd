"""Interop: the published Spec Kitty CLI (`spec-kitty-cli==3.2.7` from PyPI) syncs to our
hub. Logged in headless, in a repo it initialised, after `sync opt-in` it creates a
mission, finalizes one work package, moves it, and `sync now` delivers the events and
the mission's document bodies; our hub stores them and shows them on the team's board.

Slow (the published CLI takes seconds per command); it reuses the cached virtualenv of
tests/test_auth_interop.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from recording_proxy import RecordingProxy
from test_auth_interop import _read_code, _their_env, published_cli  # noqa: F401

WP_FILE = """---
work_package_id: "WP01"
title: "Say hello"
dependencies: []
requirement_refs: ["FR-001"]
subtasks:
  - "T001"
phase: "Phase 1"
---

# Work Package Prompt: WP01 - Say hello

- [ ] T001 Print hello
"""


class Their:
    """Runs the published CLI in one repo with one HOME against one URL."""

    def __init__(self, cli: Path, repo: Path, env: dict[str, str]) -> None:
        self.cli, self.repo, self.env = cli, repo, env

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.cli), *args], cwd=self.repo, env=self.env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{args}: {proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    def git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.repo, env=self.env, check=True,
                       capture_output=True)


def _kill_their_daemons(home: Path) -> list[int]:
    """The published CLI starts its own sync daemon (rooted in its HOME) and leaves it
    running; stop every one rooted in ``home`` so no test leaks a process or a port."""
    marker = f"--spec-kitty-daemon-root={home}".encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append(int(entry.name))
    return killed


def _plan_one_work_package(their: Their) -> str:
    created = json.loads(their(
        "agent", "mission", "create", "demo", "--mission-type", "software-dev",
        "--friendly-name", "Demo", "--purpose-tldr", "Say hello",
        "--purpose-context", "Interop with our hub", "--start-branch", "feat/demo",
        "--json").stdout)
    slug: str = created["mission_slug"]
    mission = their.repo / "kitty-specs" / slug
    (mission / "spec.md").write_text("# Spec: Demo\n\n| ID | Title | Status |\n|---|---|---|\n"
                                     "| FR-001 | Say hello | Draft |\n")
    (mission / "plan.md").write_text("# Plan: Demo\n\nOne work package that says hello.\n")
    (mission / "tasks.md").write_text("# Tasks: Demo\n\n## WP01: Say hello\n\n"
                                      "- [ ] T001 Print hello\n")
    (mission / "tasks" / "WP01-say-hello.md").write_text(WP_FILE)
    their.git("add", "-A")
    their.git("commit", "-qm", "plan demo")
    their("agent", "mission", "finalize-tasks", "--mission", slug, "--json")
    moved = json.loads(their("agent", "tasks", "move-task", "WP01", "--to", "claimed",
                             "--mission", slug, "--json").stdout)
    assert moved["new_lane"] == "claimed"
    return slug


@pytest.mark.slow
@pytest.mark.hub
def test_published_cli_syncs_a_status_change_and_its_documents(
        published_cli: Path, sqlite_hub: Any, tmp_path: Path) -> None:  # noqa: F811
    hub = sqlite_hub
    user = hub.create_user(name="Grace Example")
    home, repo = tmp_path / "their-home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = G\n\temail = g@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    try:
        _deliver_with_the_published_cli(published_cli, hub, user, home, repo, tmp_path)
    finally:
        _kill_their_daemons(home)


def _deliver_with_the_published_cli(cli: Path, hub: Any, user: Any, home: Path,
                                    repo: Path, tmp_path: Path) -> None:
    with RecordingProxy(hub.url) as proxy:
        env = {**_their_env(home, proxy.url), "SPEC_KITTY_NO_UPGRADE_CHECK": "1"}
        their = Their(cli, repo, env)
        login = subprocess.Popen([str(cli), "auth", "login", "--headless"],
                                 cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
        hub.admin("device", "approve", _read_code(login), "--user", user.email)
        assert login.wait(timeout=120) == 0
        their.git("init", "-q", "-b", "main")
        (repo / "README.md").write_text("demo\n")
        their.git("add", "-A")
        their.git("commit", "-qm", "init")
        their("init", ".", "--ai", "claude", "--non-interactive")
        their.git("add", "-A")
        their.git("commit", "-qm", "spec-kitty init")
        their("sync", "opt-in")
        slug = _plan_one_work_package(their)
        synced = their("sync", "now")
    summary = " ".join(synced.stdout.split())
    assert "rejected 0" in summary and "delivered 0 " not in summary, synced.stdout
    sent = {(seen.method, seen.path, seen.status) for seen in proxy.seen}
    assert ("POST", "/api/v1/events/batch/", 200) in sent
    assert ("POST", "/api/dossier/push-content/", 201) in sent
    sync_paths = ("/api/v1/events/batch/", "/api/dossier/push-content/")
    assert not [s for s in proxy.seen if s.path in sync_paths and s.status >= 400]

    token = hub.login(user)["access_token"]
    base = f"/api/v1/teams/{user.private_team}/projects"
    projects = hub.http.get(base, headers=hub.bearer(token)).json()
    assert len(projects) == 1, projects
    missions = f"{base}/{projects[0]['project_uuid']}/missions"
    board = hub.http.get(f"{missions}/{slug}/board", headers=hub.bearer(token)).json()
    history = hub.http.get(f"{missions}/{slug}/events", headers=hub.bearer(token)).json()
    documents = hub.http.get(f"{missions}/{slug}/documents", headers=hub.bearer(token)).json()
    types = sorted(event["envelope"]["event_type"] for event in history["events"])
    bodies = {doc["artifact_path"]: doc["content_body"] for doc in documents}
    seen = f"board={board}\ntypes={types}\ndocuments={sorted(bodies)}"
    cards = {card["id"]: card for card in board["work_packages"]}
    assert cards["WP01"]["lane"] == "claimed" and cards["WP01"]["title"] == "Say hello", seen
    assert board["mission"]["event_count"] >= 1 and board["by_lane"]["claimed"] == 1, seen
    assert {"WPStatusChanged", "WPCreated"} <= set(types), seen
    spec = (repo / "kitty-specs" / slug / "spec.md").read_text()
    assert bodies.get("spec.md") == spec, seen
