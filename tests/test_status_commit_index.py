"""A status commit moves HEAD and the index together, or not at all.

If HEAD moved while the index kept the old status blobs (another git process held
index.lock), the user's next ``git commit`` would silently revert the recorded
events in git.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from execution_helpers import clone_template

from helpers import git, run_cli
from planning_helpers import sk


@pytest.fixture
def mission(planned_template: Path, tmp_path: Path) -> tuple[Path, str]:
    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    return repo, slug


def test_a_held_index_lock_skips_the_commit_instead_of_desyncing_the_index(
        mission: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo, slug = mission
    log = f"kitty-specs/{slug}/status.events.jsonl"
    monkeypatch.setenv("SPEC_KITTY_GIT_LOCK_WAIT", "0.5")
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")  # another git process (a commit running its hooks) holds it
    head = git(repo, "rev-parse", "HEAD")
    code, result = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "claimed",
                      "--agent", "claude", "--mission", slug)
    assert code == 0, result
    commit = result["status_commit"]
    assert commit["committed"] is False and commit["failed"] is True
    assert "index.lock" in commit["reason"]
    assert git(repo, "rev-parse", "HEAD") == head
    assert lock.exists()  # still the other process's lock
    lock.unlink()
    # No staged revert of the status files is waiting for the user's next commit.
    assert git(repo, "diff", "--cached", "--name-only") == ""

    code, result = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "in_progress",
                      "--agent", "claude", "--mission", slug)
    assert code == 0 and result["status_commit"]["committed"] is True, result
    (repo / "notes.txt").write_text("mine\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "user work")
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "notes.txt"
    assert git(repo, "show", f"HEAD:{log}") == (repo / log).read_text().strip()
    assert git(repo, "status", "--porcelain") == ""


def test_a_status_commit_killed_holding_index_lock_recovers_on_the_next_command(
        mission: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo, slug = mission
    log = repo / f"kitty-specs/{slug}/status.events.jsonl"
    head = git(repo, "rev-parse", "HEAD")
    proc = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed", "--agent",
                    "claude", "--mission", slug, "--json"], repo,
                   env={"SPEC_KITTY_CRASH_AT": "status-commit:index-locked"})
    assert proc.returncode == -signal.SIGKILL
    assert (repo / ".git" / "index.lock").exists()  # killed while holding it
    assert git(repo, "rev-parse", "HEAD") == head
    recorded = log.read_text()
    assert '"to_lane": "claimed"' in recorded.splitlines()[-1]

    # The next command takes the dead process's lock over instead of waiting it out.
    monkeypatch.setenv("SPEC_KITTY_GIT_LOCK_WAIT", "600")
    code, result = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "in_progress",
                      "--agent", "claude", "--mission", slug)
    assert code == 0 and result["status_commit"]["committed"] is True, result
    assert not (repo / ".git" / "index.lock").exists()
    lines = log.read_text().splitlines()
    assert lines[:-1] == recorded.splitlines()  # nothing lost, nothing duplicated
    assert len({json.loads(line)["event_id"] for line in lines}) == len(lines)
    assert git(repo, "show", f"HEAD:kitty-specs/{slug}/status.events.jsonl").splitlines() \
        == lines
    assert git(repo, "status", "--porcelain") == ""


def test_a_running_git_commands_lock_is_never_taken_over(
        mission: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo, slug = mission
    monkeypatch.setenv("SPEC_KITTY_GIT_LOCK_WAIT", "0")
    lock = repo / ".git" / "index.lock"
    # Whatever is in a lock that is not one of ours (git writes the new index there),
    # and ours while the process that holds it is alive, it stays.
    for content in (b"DIRC partial index", f"spec-kitty-status-commit {os.getpid()} "
                    f"{socket.gethostname()}\n".encode()):
        lock.write_bytes(content)
        code, result = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "claimed",
                          "--agent", "claude", "--mission", slug)
        assert code == 0 and result["status_commit"]["committed"] is False, result
        assert lock.read_bytes() == content
        lock.unlink()
        git(repo, "checkout", "-q", "--", ".")  # drop the uncommitted claim


@pytest.mark.parametrize("rerun", [
    ("agent", "action", "implement", "WP01", "--agent", "claude"),
    ("agent", "tasks", "move-task", "WP01", "--to", "in_progress", "--agent", "claude"),
])
def test_rerunning_a_command_killed_before_its_commit_commits_its_events(
        mission: tuple[Path, str], rerun: tuple[str, ...]) -> None:
    repo, slug = mission
    log = f"kitty-specs/{slug}/status.events.jsonl"
    proc = run_cli(["agent", "action", "implement", "WP01", "--agent", "claude",
                    "--mission", slug, "--json"], repo,
                   env={"SPEC_KITTY_CRASH_AT": "status-commit:index-locked"})
    assert proc.returncode == -signal.SIGKILL
    recorded = (repo / log).read_text()
    assert '"to_lane": "in_progress"' in recorded.splitlines()[-1]
    assert git(repo, "status", "--porcelain", "--", log) != ""  # recorded, not committed

    # The retry records nothing new (the claim is there), yet finishes the commit.
    code, result = sk(repo, *rerun, "--mission", slug)
    assert code == 0, result
    assert (repo / log).read_text() == recorded
    assert git(repo, "show", f"HEAD:{log}") == recorded.strip()
    assert git(repo, "status", "--porcelain") == ""
    assert "interrupted command" in git(repo, "log", "-1", "--format=%s")


def test_agents_and_a_user_committing_at_once_lose_nothing(
        mission: tuple[Path, str]) -> None:
    """Two agents move their work packages while the user commits their own files."""
    import subprocess

    from helpers import CLI

    repo, slug = mission
    log = f"kitty-specs/{slug}/status.events.jsonl"
    def moves(wp: str, agent: str) -> str:
        return "; ".join(f"{CLI} agent tasks move-task {wp} --to {lane} --agent {agent} "
                         f"--mission {slug} --json >/dev/null || exit 1"
                         for lane in ("claimed", "in_progress"))

    agents = [subprocess.Popen(["sh", "-c", moves(wp, who)], cwd=repo)
              for wp, who in (("WP01", "claude"), ("WP02", "codex"))]
    mine = []
    for n in range(6):
        name = f"mine-{n}.txt"
        (repo / name).write_text(f"{n}\n")
        # A busy index (an agent's status commit holds index.lock) is git's usual
        # "try again": the user's commit either happens whole or not at all.
        deadline = time.monotonic() + 300  # generous: only a hang should hit it
        while True:
            added = subprocess.run(["git", "add", name], cwd=repo, capture_output=True)
            if added.returncode == 0 and subprocess.run(
                    ["git", "commit", "-qm", f"user {n}"], cwd=repo,
                    capture_output=True).returncode == 0:
                mine.append(git(repo, "rev-parse", "HEAD"))
                break
            assert time.monotonic() < deadline, "the user's commit never got through"
            time.sleep(0.05)
    assert [proc.wait() for proc in agents] == [0, 0]

    lines = (repo / log).read_text().splitlines()
    moved = [json.loads(line) for line in lines if '"to_lane"' in line]
    assert {(r["wp_id"], r["to_lane"]) for r in moved} >= {
        ("WP01", "claimed"), ("WP01", "in_progress"), ("WP02", "claimed"),
        ("WP02", "in_progress")}
    assert git(repo, "show", f"HEAD:{log}").splitlines() == lines  # all of it in git
    assert git(repo, "status", "--porcelain") == ""  # nothing staged or left behind
    for n, sha in enumerate(mine):  # the user's commits hold the user's file only
        assert git(repo, "show", "--name-only", "--format=", sha) == f"mine-{n}.txt"


def test_a_claim_is_refused_while_the_main_checkout_is_on_another_branch(
        mission: tuple[Path, str]) -> None:
    """A claim committed on a side branch vanished on `git switch main`, and a second
    agent then claimed (and reused the worktree of) the same work package."""
    repo, slug = mission
    log = repo / f"kitty-specs/{slug}/status.events.jsonl"
    before = log.read_bytes()
    git(repo, "switch", "-qc", "side")
    for command in (("agent", "action", "implement", "WP01"), ("agent", "action", "review")):
        code, result = sk(repo, *command, "--agent", "claude", "--mission", slug)
        assert code == 1 and result["error_code"] == "WRONG_BRANCH", result
        assert "'side'" in result["error"] and "git switch main" in result["remediation"]
    assert log.read_bytes() == before and git(repo, "rev-parse", "side") == \
        git(repo, "rev-parse", "main")
    assert not (repo / ".worktrees").exists() or not any((repo / ".worktrees").iterdir())

    git(repo, "switch", "-q", "main")
    code, result = sk(repo, "agent", "action", "implement", "WP01", "--agent", "claude",
                      "--mission", slug)
    assert code == 0, result
    code, result = sk(repo, "agent", "action", "implement", "WP01", "--agent", "codex",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "WORK_PACKAGE_CLAIM_CONFLICT", result
