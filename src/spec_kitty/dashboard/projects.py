"""Which repositories one dashboard serves, and the short key each is addressed by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from spec_kitty.dashboard.errors import ProjectDirInvalid, UnknownProjectKey
from spec_kitty.repo.paths import KITTIFY, ProjectPaths, main_checkout_of


@dataclass(frozen=True)
class ServedProject:
    key: str  # URL-safe, unique within one dashboard
    paths: ProjectPaths

    @property
    def root(self) -> Path:
        return self.paths.root

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "root": str(self.root), "name": self.root.name}


def project_root_of(directory: Path) -> Path:
    """The project holding ``directory`` (walking up; a linked worktree maps to its main
    checkout). Unlike ``find_project_root`` this ignores SPECIFY_REPO_ROOT: an explicit
    --project must never be silently redirected."""
    if not directory.is_dir():
        raise ProjectDirInvalid(directory, "not a directory")
    start = directory.resolve()
    for candidate in (start, *start.parents):
        root = main_checkout_of(candidate)
        if (root / KITTIFY).is_dir():
            return root
    raise ProjectDirInvalid(directory, f"no {KITTIFY}/ here or in any parent")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "project"


def served_projects(roots: list[Path]) -> list[ServedProject]:
    """One entry per distinct root, in the order given; keys come from directory names."""
    projects: list[ServedProject] = []
    seen_roots: set[Path] = set()
    taken: set[str] = set()
    for root in roots:
        resolved = root.resolve()
        if resolved in seen_roots:
            continue
        seen_roots.add(resolved)
        key = base = _slug(resolved.name)
        suffix = 2
        while key in taken:
            key, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(key)
        projects.append(ServedProject(key, ProjectPaths(resolved)))
    return projects


def pick_project(projects: list[ServedProject], key: str | None) -> ServedProject:
    """``None`` means the first project: the single-project routes keep working."""
    if key is None:
        return projects[0]
    for project in projects:
        if project.key == key:
            return project
    raise UnknownProjectKey(key, [p.key for p in projects])
