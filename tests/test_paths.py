"""Project root resolution: nested directories, linked worktrees, the env override."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec_kitty.repo.paths import (
    ProjectNotFound,
    ProjectPaths,
    find_project_root,
    git_common_dir,
    is_linked_worktree,
)

from helpers import git, parse_one_json, run_cli


def test_finds_root_from_nested_directory(initialized_repo: Path) -> None:
    nested = initialized_repo / "src" / "deep" / "er"
    nested.mkdir(parents=True)
    assert find_project_root(nested) == initialized_repo.resolve()


def test_worktree_resolves_to_main_checkout(initialized_repo: Path) -> None:
    wt = initialized_repo / ".worktrees" / "feature-lane-a"
    git(initialized_repo, "worktree", "add", "-q", "-b", "lane-a", str(wt))
    assert (wt / ".kittify").is_dir()  # the committed copy exists in the worktree...
    inner = wt / "pkg"
    inner.mkdir()
    # ...but state must resolve to the main checkout, never the worktree copy.
    assert find_project_root(inner) == initialized_repo.resolve()
    assert is_linked_worktree(inner)
    assert not is_linked_worktree(initialized_repo)
    assert git_common_dir(wt) == (initialized_repo / ".git").resolve()
    assert ProjectPaths(find_project_root(wt)).lock_dir() == (
        initialized_repo / ".git" / "spec-kitty-locks"
    ).resolve()


def test_worktree_outside_project_tree_without_committed_kittify(tmp_path: Path,
                                                                   git_repo: Path) -> None:
    # .kittify exists only (uncommitted) in the main checkout.
    assert run_cli(["init", ".", "--ai", "claude"], git_repo).returncode == 0
    wt = tmp_path / "elsewhere"
    git(git_repo, "worktree", "add", "-q", "-b", "side", str(wt))
    assert not (wt / ".kittify").exists()
    assert find_project_root(wt) == git_repo.resolve()


def test_cli_inside_worktree_reports_main_root(initialized_repo: Path) -> None:
    wt = initialized_repo / ".worktrees" / "x"
    git(initialized_repo, "worktree", "add", "-q", "-b", "x", str(wt))
    proc = run_cli(["verify-setup", "--json"], wt)
    assert parse_one_json(proc.stdout)["project_root"] == str(initialized_repo.resolve())


def test_env_override(tmp_path: Path, initialized_repo: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECIFY_REPO_ROOT", str(initialized_repo))
    assert find_project_root(tmp_path) == initialized_repo.resolve()


def test_env_override_ignored_when_not_a_directory(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECIFY_REPO_ROOT", str(tmp_path / "missing"))
    with pytest.raises(ProjectNotFound):
        find_project_root(tmp_path)


def test_outside_any_project_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound) as info:
        find_project_root(tmp_path)
    assert "spec-kitty init" in (info.value.hint or "")
    assert str(tmp_path) in info.value.message
