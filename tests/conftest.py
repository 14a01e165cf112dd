"""Shared fixtures: an isolated HOME, real git repositories, the real CLI binary."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from helpers import BIN_DIR, git, make_git_repo, run_cli

# Loopback doubles of third-party trackers (GitHub, GitLab, Jira, Linear, bd, fp), and
# the team hub's fixtures (a throwaway PostgreSQL cluster, hub servers: hub_fixtures.py).
pytest_plugins = ["doubles.fixtures", "hub_fixtures", "browser_fixtures", "daemon_helpers"]

# Property tests must not assume the machine's speed: no per-example deadline, and no
# "generation too slow" verdict when the suite shares two cores with other processes.
settings.register_profile("suite", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
# CI (.ci/run) replays the same examples every run, so a landing never depends on what
# a random seed happens to find; `make test` elsewhere keeps exploring new inputs.
settings.register_profile("ci", parent=settings.get_profile("suite"), derandomize=True,
                          database=None)
settings.load_profile(os.environ.get("SPEC_KITTY_HYPOTHESIS_PROFILE", "suite"))


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
    # No test starts a background sync daemon unless it unsets this itself
    # (tests/test_sync_daemon*.py), so no test leaks a process.
    monkeypatch.setenv("SPEC_KITTY_SYNC_DISABLE", "1")
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


# -- shared mission templates ---------------------------------------------------------
# Planning a mission (and implementing it) takes dozens of CLI runs; tests that only need
# "a finalized mission" or "an approved mission" copy one made once per test process.


@contextlib.contextmanager
def _template_env(home: Path) -> Iterator[None]:
    (home / ".gitconfig").write_text("[user]\n\tname = T\n\temail = t@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    old = dict(os.environ)
    os.environ.update(HOME=str(home), SPEC_KITTY_HOME=str(home / ".kittify"),
                      GIT_CONFIG_NOSYSTEM="1", SPEC_KITTY_NON_INTERACTIVE="1",
                      SPEC_KITTY_SYNC_DISABLE="1",
                      PATH=f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}")
    os.environ.pop("SPEC_KITTY_ACTOR", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(old)


def _new_template(factory: pytest.TempPathFactory, name: str, approve: bool) -> Path:
    from execution_helpers import implement_all

    from planning_helpers import plan_mission

    base = factory.mktemp(name)
    with _template_env(factory.mktemp(f"{name}-home")):
        repo = make_git_repo(base / "repo")
        assert run_cli(["init", ".", "--ai", "claude"], repo).returncode == 0
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "spec-kitty init")
        slug = plan_mission(repo).name
        commits = implement_all(repo, slug) if approve else {}
        git(repo, "worktree", "prune")
    (base / "template.json").write_text(json.dumps({"slug": slug, "commits": commits}))
    return base


@pytest.fixture(scope="session")
def planned_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finalized 4-WP mission (planning_helpers.WPS), nothing implemented yet."""
    return _new_template(tmp_path_factory, "planned-template", approve=False)


@pytest.fixture(scope="session")
def approved_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same mission with every work package implemented in its lane and approved."""
    return _new_template(tmp_path_factory, "approved-template", approve=True)
