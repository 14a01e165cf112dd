"""Issue 9 §7 (no silent loss at handoff) and §8 (the ownership guard cannot be bypassed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from execution_helpers import (
    OWNED,
    SUBTASKS,
    clone_template,
    commit_work,
    implement,
    implement_all,
    merge,
)

from helpers import git
from planning_helpers import plan_mission, sk


@pytest.fixture
def mission(planned_template: Path, tmp_path: Path) -> tuple[Path, str]:
    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    return repo, slug


def _commit(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", *args], cwd=workspace, capture_output=True,
                          text=True)


def test_hand_over_with_uncommitted_owned_changes_is_refused(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    commit_work(workspace, {OWNED["WP01"]: "v1\n"}, "first version")
    (workspace / OWNED["WP01"]).write_text("v2, never committed\n")
    (workspace / "scratch.log").write_text("not owned, not the WP's work\n")
    sk(repo, "agent", "tasks", "mark-status", *SUBTASKS["WP01"], "--mission", slug)
    code, refused = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "for_review",
                       "--mission", slug)
    assert code == 1 and refused["error_code"] == "UNCOMMITTED_CHANGES"
    assert refused["files"] == [OWNED["WP01"]] and refused["worktree"] == str(workspace)
    assert "--force --reason" in refused["remediation"]
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]["work_packages"]
    assert next(c for c in board if c["id"] == "WP01")["lane"] == "in_progress"
    code, forced = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "for_review",
                      "--force", "--reason", "v2 is an experiment", "--actor", "claude",
                      "--mission", slug)
    assert code == 0 and forced["new_lane"] == "for_review"


def test_merge_refuses_to_mark_done_while_a_lane_has_uncommitted_work(
        approved_template: Path, tmp_path: Path) -> None:
    repo, slug, _ = clone_template(approved_template, tmp_path / "copy")
    lane_a = repo / ".worktrees" / f"{slug}-lane-a"
    (lane_a / OWNED["WP01"]).write_text("a late fix nobody committed\n")
    main_before = git(repo, "rev-parse", "main")
    code, preview = merge(repo, slug, "--dry-run")
    assert code == 0 and preview["would_merge"] is False
    assert any("uncommitted" in p and OWNED["WP01"] in p for p in preview["problems"])
    code, refused = merge(repo, slug)
    assert code == 1 and refused["error_code"] == "MERGE_PREFLIGHT_FAILED"
    assert git(repo, "rev-parse", "main") == main_before
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]["work_packages"]
    assert {c["lane"] for c in board} == {"approved"}
    code, result = merge(repo, slug, "--allow-uncommitted")
    assert code == 0, result
    assert (lane_a / OWNED["WP01"]).read_text() == "a late fix nobody committed\n"
    assert any(k["path"] == str(lane_a) for k in result["kept_worktrees"])


def test_every_form_of_commit_is_checked_in_a_lane(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    commit_work(workspace, {OWNED["WP01"]: "v1\n"}, "owned file")
    head = git(workspace, "rev-parse", "HEAD")
    (workspace / "README.md").write_text("not WP01's file\n")  # tracked, not owned
    for args in (["-a", "-m", "all"], ["-o", "README.md", "-m", "only"],
                 ["README.md", "-m", "paths"], ["--amend", "-a", "--no-edit"],
                 ["--amend", "--no-edit", "README.md"]):
        proc = _commit(workspace, *args)
        assert proc.returncode == 1, (args, proc.stdout)
        assert "not owned by WP01" in proc.stderr and "README.md" in proc.stderr, args
        assert git(workspace, "rev-parse", "HEAD") == head, args
    git(workspace, "checkout", "--", "README.md")
    spec = workspace / "kitty-specs" / slug / "spec.md"
    spec.write_text(spec.read_text() + "\nedited in a lane\n")
    proc = _commit(workspace, "-a", "-m", "spec")
    assert proc.returncode == 1 and "kitty-specs/ is never edited" in proc.stderr
    git(workspace, "checkout", "--", ".")
    (workspace / "stray.txt").write_text("stray\n")
    git(workspace, "add", "stray.txt")
    proc = _commit(workspace, "--amend", "--no-edit")
    assert proc.returncode == 1 and "stray.txt" in proc.stderr
    git(workspace, "reset", "-q", "stray.txt")
    (workspace / OWNED["WP01"]).write_text("v2\n")
    assert _commit(workspace, "-a", "-m", "owned change").returncode == 0  # still allowed


def test_merge_flags_lane_commits_that_bypassed_the_guard(initialized_repo: Path) -> None:
    repo = initialized_repo
    slug = plan_mission(repo).name
    extra = {"WP02": {"docs/unowned.md": "sneaked in\n",
                      f"kitty-specs/{slug}/spec.md": "overwritten from a lane\n"}}
    implement_all(repo, slug, extra=extra, no_verify=True)
    code, preview = merge(repo, slug, "--dry-run")
    problems = " ".join(preview["problems"])
    assert code == 0 and preview["would_merge"] is False
    assert "lane-b" in problems and "docs/unowned.md" in problems
    assert f"kitty-specs/{slug}/spec.md" in problems
    code, refused = merge(repo, slug)
    assert code == 1 and refused["error_code"] == "MERGE_PREFLIGHT_FAILED"
    assert "lane-a" not in " ".join(refused["problems"])  # clean lanes are not blamed
