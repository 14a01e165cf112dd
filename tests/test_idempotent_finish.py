"""Issue 9 §6: a second accept or merge after success says so, exits 0 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from execution_helpers import all_commits, clone_template, merge

from helpers import git
from planning_helpers import sk


def _snapshot(repo: Path) -> tuple[str, str, str]:
    """HEAD, every ref, and the working tree state: whatever a write would change."""
    return (git(repo, "rev-parse", "HEAD"),
            git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
            git(repo, "status", "--porcelain", "--untracked-files=all"))


def test_accept_and_merge_twice(approved_template: Path, tmp_path: Path) -> None:
    repo, slug, _ = clone_template(approved_template, tmp_path / "copy")
    meta_file = repo / "kitty-specs" / slug / "meta.json"

    code, accepted = sk(repo, "accept", "--mission", slug, "--actor", "lead")
    assert code == 0 and accepted["result"] == "success" and accepted["commit_created"]
    before = _snapshot(repo)
    code, again = sk(repo, "accept", "--mission", slug, "--actor", "lead")
    assert code == 0 and again["result"] == "already_accepted", again
    assert again["accept_commit"] == accepted["commit_hash"]
    assert f"already accepted at {accepted['commit_hash'][:12]}" in again["message"]
    assert _snapshot(repo) == before

    code, merged = merge(repo, slug)
    assert code == 0, merged
    merge_commit = merged["merge_commit"]
    assert len(git(repo, "rev-list", "--parents", "-n", "1", merge_commit).split()) == 3
    before, commits = _snapshot(repo), all_commits(repo)
    for args in ((), ("--dry-run",)):
        code, again = merge(repo, slug, *args)
        assert code == 0 and again["result"] == "already_merged", again
        assert again["merge_commit"] == merge_commit
        assert f"already merged into main at {merge_commit[:12]}" in again["message"]
    assert _snapshot(repo) == before and all_commits(repo) == commits
    meta = json.loads(meta_file.read_text())
    assert meta["merge_commit"] == merge_commit  # never repointed

    # merge's done bookkeeping does not make the acceptance stale
    code, after = sk(repo, "accept", "--mission", slug)
    assert code == 0 and after["result"] == "already_accepted"
    assert _snapshot(repo) == before
    code, step = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result", "success")
    assert code == 0 and step["kind"] == "terminal"


def test_a_reopened_work_package_makes_the_acceptance_stale(approved_template: Path,
                                                            tmp_path: Path) -> None:
    repo, slug, _ = clone_template(approved_template, tmp_path / "copy")
    assert sk(repo, "accept", "--mission", slug)[0] == 0
    code, moved = sk(repo, "agent", "tasks", "move-task", "WP02", "--to", "in_progress",
                     "--review-ref", "second-look", "--agent", "rev", "--mission", slug)
    assert code == 0, moved
    code, result = sk(repo, "accept", "--mission", slug)
    assert code == 1 and result["error_code"] == "ACCEPT_CHECKS_FAILED"
    assert "WP02 (in_progress)" in result["error"]
