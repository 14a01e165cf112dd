"""Layers import only downward.

core <- repo/git <- hosted <- auth <- sync <- tracker <- services <- dashboard <- cli.
The hosted packages (gate and readiness, auth, sync, tracker) sit below services so a
status write can hand its event to the sync emitter. The hub (spec_kitty_hub) shares only
the pure domain (spec_kitty.core) with the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import spec_kitty

PACKAGE = Path(spec_kitty.__file__).parent

_BASE = {"core", "repo", "git"}
_HOSTED = {"hosted", "auth", "sync", "tracker"}
ALLOWED = {
    "core": {"core"},
    "repo": {"core", "repo"},
    "git": {"core", "git"},
    "hosted": {"core", "repo", "hosted"},
    "auth": {"core", "repo", "hosted", "auth"},
    "sync": _BASE | {"hosted", "auth", "sync"},
    "tracker": _BASE | _HOSTED,
    "services": _BASE | _HOSTED | {"services"},
    "dashboard": _BASE | _HOSTED | {"services", "dashboard"},
    "cli": _BASE | _HOSTED | {"services", "dashboard", "cli"},
}
HUB = PACKAGE.parent / "spec_kitty_hub"
HUB_MAY_IMPORT = {"core"}


def _imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) for every absolute import of a spec_kitty subpackage in ``path``."""
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
            if parts[0] == "spec_kitty" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def test_layers_only_import_downward() -> None:
    violations = []
    for layer, allowed in ALLOWED.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            for imported, line in _imported_layers(path):
                if imported in ALLOWED and imported not in allowed:
                    violations.append(f"{path.relative_to(PACKAGE)}:{line} imports {imported}")
    assert violations == []


def test_hub_shares_only_the_pure_domain() -> None:
    violations = [
        f"{path.relative_to(HUB)}:{line} imports spec_kitty.{imported}"
        for path in HUB.rglob("*.py")
        for imported, line in _imported_layers(path)
        if imported not in HUB_MAY_IMPORT
    ]
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
