"""Pytest fixtures for the doubles (registered from tests/conftest.py).

HTTP doubles start per test on 127.0.0.1:0 and stop afterwards (each takes a few
milliseconds); ``bd_on_path``/``fp_on_path`` put the stand-in executables first on
PATH for the test and for every subprocess it starts.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from doubles.github import GitHubDouble
from doubles.gitlab import GitLabDouble
from doubles.jira import JiraDouble
from doubles.linear import LinearDouble

HERE = Path(__file__).parent


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        yield double


@pytest.fixture
def gitlab_double() -> Iterator[GitLabDouble]:
    with GitLabDouble() as double:
        yield double


@pytest.fixture
def jira_double() -> Iterator[JiraDouble]:
    with JiraDouble() as double:
        yield double


@pytest.fixture
def linear_double() -> Iterator[LinearDouble]:
    with LinearDouble() as double:
        yield double


class StandIn:
    """A ``bd`` or ``fp`` stand-in on PATH, with helpers to read and seed its store."""

    def __init__(self, name: str, bin_dir: Path, state_dir: str) -> None:
        self.name = name
        self.bin_dir = bin_dir
        self.state_dir = state_dir

    def store_path(self, workspace: Path) -> Path:
        return workspace / self.state_dir / "standin.json"

    def load(self, workspace: Path) -> dict[str, Any]:
        path = self.store_path(workspace)
        return json.loads(path.read_text()) if path.exists() else {"next": 0, "issues": {}}

    def save(self, workspace: Path, store: dict[str, Any]) -> None:
        path = self.store_path(workspace)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(store, indent=1))

    def seed(self, workspace: Path, **issue: Any) -> dict[str, Any]:
        """Put one raw issue in the store (any vocabulary, including values bd rejects)."""
        store = self.load(workspace)
        store["issues"][issue["id"]] = issue
        store["next"] = max(store["next"], len(store["issues"]))
        self.save(workspace, store)
        return issue

    def calls(self, workspace: Path) -> list[list[str]]:
        path = workspace / self.state_dir / "standin-calls.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def inject(self, workspace: Path, command: str, kind: str) -> None:
        path = workspace / self.state_dir / "standin-faults.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        faults = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps([*faults, {"command": command, "kind": kind}]))


def _install(name: str, script: str, tmp_path_factory: pytest.TempPathFactory,
             monkeypatch: pytest.MonkeyPatch, state_dir: str) -> StandIn:
    bin_dir = tmp_path_factory.mktemp(f"{name}-bin")
    wrapper = bin_dir / name
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / script}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return StandIn(name, bin_dir, state_dir)


@pytest.fixture
def bd_on_path(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    return _install("bd", "bd_standin.py", tmp_path_factory, monkeypatch, ".beads")


@pytest.fixture
def fp_on_path(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    return _install("fp", "fp_standin.py", tmp_path_factory, monkeypatch, ".fp")
