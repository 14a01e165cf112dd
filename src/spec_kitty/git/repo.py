"""Repository-level queries: work tree detection, config, version."""

from __future__ import annotations

import re
from pathlib import Path

from spec_kitty.git import runner


def version() -> tuple[int, ...] | None:
    """Installed git version as a tuple, or None when git is missing."""
    try:
        text = runner.output(["--version"], Path.cwd())
    except runner.GitNotInstalled:
        return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def is_work_tree(path: Path) -> bool:
    proc = runner.run(["rev-parse", "--is-inside-work-tree"], path, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def get_config(path: Path, key: str) -> str | None:
    proc = runner.run(["config", "--get", key], path, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def set_config(path: Path, key: str, value: str) -> bool:
    """Set a local config value; returns whether it changed."""
    if get_config(path, key) == value:
        return False
    runner.run(["config", key, value], path)
    return True
