"""Layers import only downward: core <- repo/git <- services <- dashboard <- cli."""

from __future__ import annotations

import ast
from pathlib import Path

import spec_kitty

PACKAGE = Path(spec_kitty.__file__).parent

ALLOWED = {
    "core": {"core"},
    "repo": {"core", "repo"},
    "git": {"core", "git"},
    "services": {"core", "repo", "git", "services"},
    "dashboard": {"core", "repo", "git", "services", "dashboard"},
    "cli": {"core", "repo", "git", "services", "dashboard", "cli"},
}


def _imported_layers(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "spec_kitty" and len(parts) > 1 and parts[1] in ALLOWED:
                found.add((parts[1], node.lineno))
    return found


def test_layers_only_import_downward() -> None:
    violations = []
    for layer, allowed in ALLOWED.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            for imported, line in _imported_layers(path):
                if imported not in allowed:
                    violations.append(f"{path.relative_to(PACKAGE)}:{line} imports {imported}")
    assert violations == []


def test_core_does_no_io() -> None:
    forbidden = {"subprocess", "os", "shutil", "rich", "typer", "socket"}
    offenders = []
    for path in (PACKAGE / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module.split(".")[0]]
            else:
                continue
            offenders += [f"{path.name}:{node.lineno} {m}" for m in mods if m in forbidden]
    assert offenders == []
