"""Pytest fixtures for the doubles (registered from tests/conftest.py).

HTTP doubles start per test on 127.0.0.1:0 and stop afterwards (each takes a few
milliseconds); ``bd_on_path``/``fp_on_path`` put the stand-in executables first on
PATH for the test and for every subprocess it starts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from doubles.github import GitHubDouble
from doubles.gitlab import GitLabDouble
from doubles.jira import JiraDouble
from doubles.linear import LinearDouble


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
