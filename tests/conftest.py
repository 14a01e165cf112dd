"""Shared fixtures: an isolated HOME, real git repositories, the real CLI binary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import BIN_DIR, git, make_git_repo, run_cli

# Loopback doubles of third-party trackers (GitHub, GitLab, Jira, Linear, bd, fp), and
# the team hub's fixtures (a throwaway PostgreSQL cluster, hub servers: hub_fixtures.py).
pytest_plugins = ["doubles.fixtures", "hub_fixtures"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME (git identity included) and never prompts."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("SPEC_KITTY_HOME", str(home / ".kittify"))
    monkeypatch.setenv("SPEC_KITTY_NON_INTERACTIVE", "1")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("SPECIFY_REPO_ROOT", raising=False)
    monkeypatch.delenv("SPEC_KITTY_DEBUG", raising=False)
    # The merge driver and hooks call `spec-kitty` by name.
    monkeypatch.setenv("PATH", f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    return home


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    return make_git_repo(tmp_path / "repo")


@pytest.fixture
def initialized_repo(git_repo: Path) -> Path:
    proc = run_cli(["init", ".", "--ai", "claude", "--non-interactive"], git_repo)
    assert proc.returncode == 0, proc.stderr
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "spec-kitty init")
    return git_repo

