"""Repository-level queries: work tree detection, config, version."""

from __future__ import annotations

import re
from pathlib import Path

from spec_kitty.core.errors import SpecKittyError
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


def current_branch(path: Path) -> str | None:
    """The checked-out branch, or None on a detached HEAD (or an unborn repository)."""
    proc = runner.run(["symbolic-ref", "--short", "-q", "HEAD"], path, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def head_sha(path: Path, ref: str = "HEAD") -> str | None:
    proc = runner.run(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], path, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def branch_exists(path: Path, branch: str) -> bool:
    return runner.ok(["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], path)


def is_committed(path: Path, file: Path) -> bool:
    """Tracked, and neither staged nor unstaged changes differ from HEAD."""
    rel = str(file)
    if not runner.ok(["ls-files", "--error-unmatch", "--", rel], path):
        return False
    return runner.ok(["diff", "--quiet", "HEAD", "--", rel], path)


def changed_paths(path: Path, paths: list[str]) -> list[str]:
    """Which of ``paths`` are untracked, modified or deleted relative to HEAD."""
    if not paths:
        return []
    out = runner.run(["status", "--porcelain", "-z", "--untracked-files=all", "--", *paths],
                     path).stdout
    changed = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        changed.append(entry[3:])
        if entry[0] in "RC":
            next(entries, None)  # the rename/copy source follows as its own entry
    return changed


class GitIdentityMissing(SpecKittyError):
    def __init__(self) -> None:
        super().__init__(
            "git does not know who you are, so spec-kitty cannot commit.",
            "GIT_IDENTITY_MISSING",
            hint='Run: git config user.name "Your Name" && git config user.email you@example.com',
        )


def commit_paths(path: Path, paths: list[str], message: str) -> str | None:
    """Commit exactly ``paths`` (other staged changes stay staged); None if nothing changed."""
    changed = changed_paths(path, paths)
    if not changed:
        return None
    runner.run(["add", "-A", "--", *paths], path)
    proc = runner.run(["commit", "-q", "-m", message, "--only", "--", *paths],
                      path, check=False)
    if proc.returncode != 0:
        text = proc.stderr + proc.stdout
        if "Please tell me who you are" in text or "identity unknown" in text:
            raise GitIdentityMissing()
        raise runner.GitError(["commit", "--", *paths], proc.returncode, text)
    return head_sha(path)
