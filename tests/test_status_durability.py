"""Issue 9 §4: recorded status survives ordinary git use in the main checkout.

Every status-changing command commits the mission's status files (and nothing else),
one commit per command; a deleted log is reported with how to restore it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution_helpers import OWNED, SUBTASKS, clone_template, commit_work, implement

from helpers import git, run_cli
from planning_helpers import sk


@pytest.fixture
def mission(planned_template: Path, tmp_path: Path) -> tuple[Path, str]:
    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    return repo, slug


def _head_files(repo: Path) -> list[str]:
    return git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()


def _count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def test_each_status_change_is_one_commit_of_status_files_only(
        mission: tuple[Path, str], tmp_path: Path) -> None:
    repo, slug = mission
    mission_dir = f"kitty-specs/{slug}"
    status_files = {f"{mission_dir}/status.events.jsonl", f"{mission_dir}/status.json"}
    # The user has work of their own staged in the main checkout.
    (repo / "README.md").write_text("# demo\nmy staged edit\n")
    (repo / "notes.txt").write_text("my new file\n")
    git(repo, "add", "README.md", "notes.txt")
    feedback = tmp_path / "feedback.md"
    feedback.write_text("Handle an empty store.\n")

    def run(*args: str) -> None:
        before = _count(repo)
        code, result = sk(repo, *args, "--mission", slug)
        assert code == 0, result
        assert _count(repo) == before + 1, args  # exactly one commit per command
        changed = set(_head_files(repo))
        assert changed and changed - status_files <= {
            f"{mission_dir}/reviews/WP01-cycle-1.md"}, changed
        assert git(repo, "diff", "--cached", "--name-only").splitlines() == [
            "README.md", "notes.txt"]  # still staged, never committed by us
        assert git(repo, "status", "--porcelain", "--", "kitty-specs") == ""

    run("agent", "action", "implement", "WP01", "--agent", "claude")
    workspace = repo / ".worktrees" / f"{slug}-lane-a"
    commit_work(workspace, {OWNED["WP01"]: "x = 1\n"}, "WP01")
    run("agent", "tasks", "mark-status", *SUBTASKS["WP01"], "--agent", "claude")
    run("agent", "tasks", "move-task", "WP01", "--to", "for_review", "--agent", "claude")
    run("agent", "action", "review", "WP01", "--agent", "rev")
    run("agent", "tasks", "move-task", "WP01", "--to", "planned", "--agent", "rev",
        "--review-feedback-file", str(feedback))
    subject = git(repo, "log", "-1", "--format=%s")
    assert subject == f"status({slug}): WP01 in_review → planned by rev"
    assert "changes requested: Handle an empty store." in git(repo, "log", "-1", "--format=%b")

    log = repo / mission_dir / "status.events.jsonl"
    recorded = log.read_text()
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]["work_packages"]
    for command in (["stash"], ["stash", "pop"], ["checkout", "--", "."],
                    ["reset", "--hard"]):
        git(repo, *command)
        assert log.read_text() == recorded, command
    assert sk(repo, "agent", "tasks", "status", "--mission", slug)[1]["work_packages"] == board


def test_auto_commit_can_be_turned_off(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text().replace("auto_commit: true", "auto_commit: false"))
    git(repo, "commit", "-qam", "no status auto-commit")
    before = git(repo, "rev-parse", "HEAD")
    code, result = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "claimed",
                      "--agent", "claude", "--mission", slug)
    assert code == 0 and result["status_commit"]["committed"] is False
    assert "agents.auto_commit" in result["status_commit"]["reason"]
    assert git(repo, "rev-parse", "HEAD") == before
    assert f"kitty-specs/{slug}/status.events.jsonl" in git(repo, "status", "--porcelain")


def test_a_deleted_log_is_reported_with_how_to_restore_it(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    implement(repo, slug, "WP01")
    log = repo / "kitty-specs" / slug / "status.events.jsonl"
    recorded = log.read_text()
    log.unlink()
    for args in (["next", "--agent", "claude", "--result", "success"],
                 ["next", "--agent", "claude"],
                 ["agent", "tasks", "status"],
                 ["status"],
                 ["agent", "tasks", "move-task", "WP02", "--to", "claimed"],
                 ["agent", "mission", "finalize-tasks"]):
        code, result = sk(repo, *args, "--mission", slug)
        assert code == 1 and result["error_code"] == "STATUS_LOG_MISSING", (args, result)
        assert f"git restore --source=HEAD -- kitty-specs/{slug}/status.events.jsonl" in \
            result["remediation"]
        assert "finalize-tasks" not in result["remediation"]
    assert not log.exists()  # nothing re-seeded it
    log.write_text("")  # an emptied log is the same loss
    assert sk(repo, "next", "--agent", "claude", "--mission", slug)[1]["error_code"] == \
        "STATUS_LOG_MISSING"
    git(repo, "restore", "--source=HEAD", "--", f"kitty-specs/{slug}/status.events.jsonl")
    assert log.read_text() == recorded
    code, board = sk(repo, "agent", "tasks", "status", "--mission", slug)
    assert code == 0 and {c["id"]: c["lane"] for c in board["work_packages"]}["WP01"] == \
        "in_progress"


def test_status_commits_never_take_a_users_unrelated_changes(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    (repo / "README.md").write_text("# demo\nunstaged edit\n")
    spec = repo / "kitty-specs" / slug / "spec.md"
    spec.write_text(spec.read_text() + "\nA staged spec edit.\n")
    git(repo, "add", str(spec.relative_to(repo)))
    proc = run_cli(["agent", "tasks", "move-task", "WP02", "--to", "claimed", "--agent",
                    "codex", "--mission", slug, "--json"], repo)
    assert proc.returncode == 0, proc.stdout
    assert set(_head_files(repo)) == {f"kitty-specs/{slug}/status.events.jsonl",
                                      f"kitty-specs/{slug}/status.json"}
    assert git(repo, "diff", "--cached", "--name-only") == f"kitty-specs/{slug}/spec.md"
    assert git(repo, "diff", "--name-only") == "README.md"
    last = json.loads((repo / "kitty-specs" / slug / "status.events.jsonl").read_text()
                      .splitlines()[-1])
    assert last["actor"] == "codex"


def test_no_status_commit_on_a_detached_head_or_mid_merge(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    git(repo, "checkout", "-q", "--detach")
    code, result = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "claimed",
                      "--agent", "claude", "--mission", slug)
    assert code == 0 and result["status_commit"]["committed"] is False
    assert "detached HEAD" in result["status_commit"]["reason"]
    assert result["status_commit"]["failed"] is False  # skipped by design, not a problem
    git(repo, "checkout", "-q", "main")
    (repo / ".git" / "MERGE_HEAD").write_text(git(repo, "rev-parse", "HEAD") + "\n")
    code, result = sk(repo, "agent", "tasks", "move-task", "WP02", "--to", "claimed",
                      "--agent", "claude", "--mission", slug)
    assert code == 0 and "a merge is in progress" in result["status_commit"]["reason"]
    assert result["status_commit"]["failed"] is False
    (repo / ".git" / "MERGE_HEAD").unlink()
    code, result = sk(repo, "agent", "tasks", "move-task", "WP02", "--to", "in_progress",
                      "--agent", "claude", "--mission", slug)
    assert result["status_commit"]["committed"] is True  # and it takes the earlier moves along
    assert git(repo, "status", "--porcelain", "--", "kitty-specs") == ""
