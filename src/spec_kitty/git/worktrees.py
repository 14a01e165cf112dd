"""Worktrees and branches: thin wrappers over the git commands that manage them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spec_kitty.git import runner


@dataclass(frozen=True)
class Worktree:
    path: Path
    head: str | None
    branch: str | None  # short name; None when detached
    prunable: bool = False


def list_worktrees(repo: Path) -> list[Worktree]:
    out = runner.output(["worktree", "list", "--porcelain"], repo)
    trees: list[Worktree] = []
    fields: dict[str, str] = {}
    for line in [*out.splitlines(), ""]:
        if line:
            key, _, value = line.partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            branch = fields.get("branch", "")
            trees.append(Worktree(
                Path(fields["worktree"]), fields.get("HEAD"),
                branch.removeprefix("refs/heads/") if branch else None,
                "prunable" in fields))
        fields = {}
    return trees


def worktree_for_branch(repo: Path, branch: str) -> Worktree | None:
    return next((t for t in list_worktrees(repo) if t.branch == branch), None)


def add(repo: Path, path: Path, ref: str, *, new_branch: str | None = None,
        detach: bool = False) -> None:
    args = ["worktree", "add"]
    if new_branch:
        args += ["-b", new_branch]
    if detach:
        args.append("--detach")
    runner.run([*args, str(path), ref], repo)


def remove(repo: Path, path: Path, *, force: bool = False) -> None:
    runner.run(["worktree", "remove", *(["--force"] if force else []), str(path)], repo)


def prune(repo: Path) -> None:
    runner.run(["worktree", "prune"], repo)


def dirty_paths(path: Path) -> list[str]:
    """Uncommitted changes in a work tree, untracked files included (ignored ones not)."""
    return [entry for _, entry in dirty_entries(path)]


def dirty_entries(path: Path) -> list[tuple[str, str]]:
    """``(XY status, path)`` for each uncommitted change; ``??`` marks untracked files.

    A rename is listed under its new path.
    """
    out = runner.run(["status", "--porcelain", "-z", "--untracked-files=all"], path).stdout
    entries: list[tuple[str, str]] = []
    fields = iter(out.split("\0"))
    for field in fields:
        if len(field) < 4:
            continue
        entries.append((field[:2], field[3:]))
        if field[0] in "RC":
            next(fields, None)  # the rename/copy source follows as its own field
    return entries


def create_branch(repo: Path, branch: str, start: str) -> None:
    runner.run(["branch", branch, start], repo)


def delete_branch(repo: Path, branch: str) -> None:
    """Delete a branch the caller has verified is safely contained elsewhere."""
    runner.run(["branch", "-D", branch], repo)


def update_ref(repo: Path, ref: str, new: str, old: str | None = None) -> None:
    """Move a ref, only if it still points at ``old`` (compare-and-swap)."""
    runner.run(["update-ref", ref, new, *([old] if old else [])], repo)


def delete_ref(repo: Path, ref: str) -> None:
    runner.run(["update-ref", "-d", ref], repo)
