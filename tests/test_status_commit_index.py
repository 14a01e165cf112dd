"""A status commit moves HEAD and the index together, or not at all.

If HEAD moved while the index kept the old status blobs (another git process held
index.lock), the user's next ``git commit`` would silently revert the recorded
events in git.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from execution_helpers import clone_template

from helpers import git
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
