"""The event-log merge driver, exercised by a real `git merge`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import git, run_cli
from missions_fixture import event, make_mission

LOG = "kitty-specs/demo-01JDEMQ0/status.events.jsonl"


@pytest.fixture
def repo_with_mission(initialized_repo: Path) -> Path:
    make_mission(initialized_repo)
    git(initialized_repo, "add", "-A")
    git(initialized_repo, "commit", "-qm", "mission")
    return initialized_repo


def move(repo: Path, wp: str, lane: str, actor: str) -> None:
    proc = run_cli(["agent", "tasks", "move-task", wp, "--to", lane, "-m", "demo", "--actor",
                    actor, "--json"], repo)
    assert proc.returncode == 0, proc.stdout


def test_two_branches_appending_events_merge_cleanly(repo_with_mission: Path) -> None:
    repo = repo_with_mission
    git(repo, "checkout", "-qb", "feature-a")
    move(repo, "WP01", "claimed", "alice")
    git(repo, "commit", "-qam", "alice claims WP01")
    git(repo, "checkout", "-q", "main")
    move(repo, "WP02", "claimed", "bob")
    move(repo, "WP02", "in_progress", "bob")
    git(repo, "commit", "-qam", "bob works on WP02")
    ours = (repo / LOG).read_text().splitlines()
    theirs = git(repo, "show", f"feature-a:{LOG}").splitlines()

    git(repo, "merge", "-q", "--no-edit", "feature-a")  # fails loudly on a conflict

    merged = (repo / LOG).read_text().splitlines()
    assert set(merged) == set(ours) | set(theirs)
    assert len(merged) == len(set(merged)) == 6
    keys = [(json.loads(t)["at"], json.loads(t)["event_id"]) for t in merged]
    assert keys == sorted(keys)
    board = json.loads(run_cli(["agent", "tasks", "status", "-m", "demo", "--json"],
                               repo).stdout)
    lanes = {c["id"]: c["lane"] for c in board["work_packages"]}
    assert lanes == {"WP01": "claimed", "WP02": "in_progress", "WP03": "planned"}


def test_same_event_id_with_different_content_is_a_conflict(repo_with_mission: Path) -> None:
    repo = repo_with_mission
    clash = "01K0000000000000000000CLSH"
    git(repo, "checkout", "-qb", "feature-b")
    with (repo / LOG).open("a") as fh:
        fh.write(json.dumps(event("WP01", "planned", "claimed", "2026-11-02T00:00:00+00:00",
                                  clash, actor="x"), sort_keys=True) + "\n")
    git(repo, "commit", "-qam", "b")
    git(repo, "checkout", "-q", "main")
    with (repo / LOG).open("a") as fh:
        fh.write(json.dumps(event("WP01", "planned", "blocked", "2026-11-02T00:00:00+00:00",
                                  clash, actor="y"), sort_keys=True) + "\n")
    git(repo, "commit", "-qam", "main")
    proc = subprocess.run(["git", "merge", "--no-edit", "feature-b"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "CONFLICT" in proc.stdout + proc.stderr
    assert clash in proc.stderr  # the driver says which id clashed
    assert git(repo, "diff", "--name-only", "--diff-filter=U") == LOG
