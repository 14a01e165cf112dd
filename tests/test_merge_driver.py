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
    move(repo, "WP01", "claimed", "alice")  # each move is committed on the current branch
    git(repo, "checkout", "-q", "main")
    move(repo, "WP02", "claimed", "bob")
    move(repo, "WP02", "in_progress", "bob")
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


# -- issue 9 §5: team merges work from any install ------------------------------------

STATUS = "kitty-specs/demo-01JDEMQ0/status.json"


def _path_without_spec_kitty() -> dict[str, str]:
    """The environment of a user whose spec-kitty lives in a venv that is not on PATH."""
    import os
    import shutil

    from helpers import BIN_DIR

    dirs = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and Path(d).resolve() != BIN_DIR.resolve()]
    env = {**os.environ, "PATH": os.pathsep.join(dirs)}
    assert shutil.which("spec-kitty", path=env["PATH"]) is None
    assert shutil.which("git", path=env["PATH"]) is not None
    return env


def _diverge(repo: Path) -> None:
    """main and feature-a both record moves after a common base that has status.json."""
    run_cli(["agent", "status", "materialize", "-m", "demo"], repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base with status.json")
    git(repo, "checkout", "-qb", "feature-a")
    move(repo, "WP01", "claimed", "alice")
    move(repo, "WP01", "in_progress", "alice")
    git(repo, "checkout", "-q", "main")
    move(repo, "WP03", "claimed", "bob")


def test_team_merge_without_spec_kitty_on_path(repo_with_mission: Path) -> None:
    repo = repo_with_mission
    _diverge(repo)
    ours = set((repo / LOG).read_text().splitlines())
    theirs = set(git(repo, "show", f"feature-a:{LOG}").splitlines())
    proc = subprocess.run(["git", "merge", "--no-edit", "feature-a"], cwd=repo,
                          capture_output=True, text=True, env=_path_without_spec_kitty())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not found" not in proc.stderr and "CONFLICT" not in proc.stdout
    assert set((repo / LOG).read_text().splitlines()) == ours | theirs
    # status.json was regenerated from the merged log: materialize has nothing to change.
    materialized = json.loads(run_cli(["agent", "status", "materialize", "-m", "demo",
                                       "--json"], repo).stdout)
    assert materialized["missions"][0]["changed"] is False
    lanes = {wp: s["lane"] for wp, s in
             json.loads((repo / STATUS).read_text())["work_packages"].items()}
    assert lanes == {"WP01": "in_progress", "WP02": "planned", "WP03": "claimed"}
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("command", [["rebase", "feature-a"],
                                     ["cherry-pick", "feature-a~1", "feature-a"]])
def test_rebase_and_cherry_pick_of_status_commits_merge_the_logs(
        repo_with_mission: Path, command: list[str]) -> None:
    """`git pull --rebase` and cherry-picks of a range replay status commits one by one;
    both drivers run for each, and status.json is rebuilt from the merged logs exactly
    (git tells a driver nothing about the commit being replayed: the sequencer's lists do)."""
    repo = repo_with_mission
    _diverge(repo)
    ours = set((repo / LOG).read_text().splitlines())
    theirs = set(git(repo, "show", f"feature-a:{LOG}").splitlines())
    proc = subprocess.run(["git", *command], cwd=repo, capture_output=True, text=True,
                          env=_path_without_spec_kitty())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not found" not in proc.stderr
    assert set((repo / LOG).read_text().splitlines()) == ours | theirs
    materialized = json.loads(run_cli(["agent", "status", "materialize", "-m", "demo",
                                       "--json"], repo).stdout)
    assert materialized["missions"][0]["changed"] is False, proc.stderr  # exact, not stale
    assert git(repo, "status", "--porcelain") == ""


def test_verify_setup_runs_the_registered_drivers(repo_with_mission: Path) -> None:
    repo = repo_with_mission
    env = _path_without_spec_kitty()
    proc = run_cli(["verify-setup", "--json"], repo, env=env)
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert proc.returncode == 0 and checks["merge-drivers"]["status"] == "ok"
    # A driver registered by name (as older versions did) is found out by actually running it.
    git(repo, "config", "merge.spec-kitty-event-log.driver",
        "spec-kitty merge-driver-event-log %O %A %B")
    proc = run_cli(["verify-setup", "--json"], repo, env=env)
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert proc.returncode == 1 and checks["merge-drivers"]["status"] == "fail"
    assert "sample merge failed" in checks["merge-drivers"]["detail"]
    assert run_cli(["init", ".", "--ai", "claude"], repo, env=env).returncode == 0
    proc = run_cli(["verify-setup", "--json"], repo, env=env)
    assert proc.returncode == 0, proc.stdout


def test_status_warns_while_the_log_is_unmerged(repo_with_mission: Path) -> None:
    repo = repo_with_mission
    _diverge(repo)
    git(repo, "config", "merge.spec-kitty-event-log.driver", "false")  # a driver that fails
    proc = subprocess.run(["git", "merge", "--no-edit", "feature-a"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    for args in (["status", "-m", "demo", "--json"],
                 ["agent", "tasks", "status", "-m", "demo", "--json"]):
        board = json.loads(run_cli(args, repo).stdout)
        assert any(LOG in w and "unmerged" in w for w in board["warnings"]), board
    human = run_cli(["status", "-m", "demo"], repo)
    assert "unmerged" in human.stderr and "git checkout -m" in human.stderr
    # The remedy the warning names: register the driver again, then redo the merge of the file.
    assert run_cli(["init", ".", "--ai", "claude"], repo).returncode == 0
    git(repo, "checkout", "-m", "--", LOG)
    assert len((repo / LOG).read_text().splitlines()) == 6
    git(repo, "add", LOG, STATUS)
    board = json.loads(run_cli(["status", "-m", "demo", "--json"], repo).stdout)
    assert board["warnings"] == []


def test_conflict_markers_in_the_log_are_named_with_the_union_remedy(
        repo_with_mission: Path) -> None:
    """A clone where `spec-kitty init` never ran has no drivers: git's text merge writes
    conflict markers into the log, which read as 'invalid JSON … Fix or remove the line'
    (deleting a side's events is the wrong fix)."""
    repo = repo_with_mission
    _diverge(repo)
    for driver in ("spec-kitty-event-log", "spec-kitty-status-json"):
        git(repo, "config", "--remove-section", f"merge.{driver}")
    proc = subprocess.run(["git", "merge", "--no-edit", "feature-a"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "<<<<<<<" in (repo / LOG).read_text()
    for args in (["status", "-m", "demo", "--json"],
                 ["agent", "tasks", "move-task", "WP02", "--to", "claimed", "-m", "demo",
                  "--json"]):
        answer = run_cli(args, repo)
        assert answer.returncode == 1, answer.stdout
        error = json.loads(answer.stdout)
        assert error["error_code"] == "EVENT_LOG_CONFLICT", error
        marker = (repo / LOG).read_text().splitlines().index(
            next(line for line in (repo / LOG).read_text().splitlines()
                 if line.startswith("<<<<<<<"))) + 1
        assert error["line"] == marker and error["file"].endswith(LOG)
        assert "git checkout -m --" in error["remediation"] and "spec-kitty init" in \
            error["remediation"] and "Traceback" not in answer.stderr
    report = json.loads(run_cli(["agent", "status", "validate", "-m", "demo", "--json"],
                                repo).stdout)
    assert any(e["code"] == "MERGE_CONFLICT" for e in report["errors"]), report
    # The remedy it names: both sides' events, none lost.
    assert run_cli(["init", ".", "--ai", "claude"], repo).returncode == 0
    git(repo, "checkout", "-m", "--", LOG, STATUS)
    assert len((repo / LOG).read_text().splitlines()) == 6
    git(repo, "add", LOG, STATUS)
    report = json.loads(run_cli(["agent", "status", "validate", "-m", "demo", "--json"],
                                repo).stdout)
    assert report["ok"] is True, report
