"""Resolve the project and the mission a command works on."""

from __future__ import annotations

from pathlib import Path

from spec_kitty.repo.missions import Mission, select_mission
from spec_kitty.repo.paths import ProjectPaths, find_project_root


def open_project(start: Path | None = None) -> ProjectPaths:
    return ProjectPaths(find_project_root(start))


def open_mission(handle: str | None, start: Path | None = None) -> tuple[ProjectPaths, Mission]:
    project = open_project(start)
    return project, select_mission(project, handle)
