"""Find the project root, resolving linked git worktrees back to the main checkout.

Everything here reads files only (no ``git`` subprocess), so commands that merely
need the root stay fast. A linked worktree's ``.git`` is a file ``gitdir: <dir>``;
that dir holds a ``commondir`` file pointing at the main repository's ``.git``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from spec_kitty.core.errors import SpecKittyError

KITTIFY = ".kittify"
SPECS_DIR = "kitty-specs"
WORKTREES_DIR = ".worktrees"
ROOT_ENV = "SPECIFY_REPO_ROOT"


class ProjectNotFound(SpecKittyError):
    def __init__(self, start: Path) -> None:
        super().__init__(
            f"Not inside a spec-kitty project: no {KITTIFY}/ found in {start} or any parent.",
            "PROJECT_NOT_FOUND",
            hint="Run `spec-kitty init` in your repository first.",
        )


def _read_gitdir_file(git_file: Path) -> Path | None:
    try:
        text = git_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text[len("gitdir:") :].strip())
    if not target.is_absolute():
        target = git_file.parent / target
    return target.resolve()


def git_common_dir(checkout: Path) -> Path | None:
    """The shared ``.git`` directory of the repository ``checkout`` belongs to."""
    dot_git = checkout / ".git"
    if dot_git.is_dir():
        return dot_git.resolve()
    if not dot_git.is_file():
        return None
    gitdir = _read_gitdir_file(dot_git)
    if gitdir is None:
        return None
    commondir_file = gitdir / "commondir"
    try:
        common = Path(commondir_file.read_text(encoding="utf-8").strip())
    except OSError:
        return gitdir  # a submodule-style gitdir: it is its own common dir
    if not common.is_absolute():
        common = gitdir / common
    return common.resolve()


def main_checkout_of(checkout: Path) -> Path:
    """For a linked worktree, the main working tree; otherwise ``checkout`` itself."""
    dot_git = checkout / ".git"
    if not dot_git.is_file():
        return checkout
    common = git_common_dir(checkout)
    if common is None or common.name != ".git":
        return checkout
    return common.parent


def is_linked_worktree(path: Path) -> bool:
    """True when ``path`` lies inside a linked (non-main) git worktree."""
    for directory in (path, *path.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return False
        if dot_git.is_file():
            return main_checkout_of(directory) != directory
    return False


def find_project_root(start: Path | None = None) -> Path:
    """Resolve the project root (the main checkout holding ``.kittify/``).

    Order: ``SPECIFY_REPO_ROOT`` when it names a directory; else walk up from
    ``start`` (default: cwd). Inside a linked worktree the walk jumps to the main
    checkout, so state is never read from or written to a worktree copy.
    """
    override = os.environ.get(ROOT_ENV)
    if override and Path(override).is_dir():
        return Path(override).resolve()
    origin = (start or Path.cwd()).resolve()
    directory: Path | None = origin
    while directory is not None:
        dot_git = directory / ".git"
        if dot_git.is_file():
            main = main_checkout_of(directory)
            if main != directory:
                if (main / KITTIFY).is_dir():
                    return main
                directory = main
                continue
        if (directory / KITTIFY).is_dir():
            return directory
        directory = directory.parent if directory.parent != directory else None
    raise ProjectNotFound(origin)


@dataclass(frozen=True)
class ProjectPaths:
    """Well-known locations inside a project root."""

    root: Path

    @property
    def kittify(self) -> Path:
        return self.root / KITTIFY

    @property
    def config_file(self) -> Path:
        return self.kittify / "config.yaml"

    @property
    def metadata_file(self) -> Path:
        return self.kittify / "metadata.yaml"

    @property
    def runtime_dir(self) -> Path:
        return self.kittify / "runtime"

    @property
    def specs_dir(self) -> Path:
        return self.root / SPECS_DIR

    @property
    def worktrees_dir(self) -> Path:
        return self.root / WORKTREES_DIR

    def lock_dir(self) -> Path:
        """Locks live in the git common dir so every worktree shares them."""
        common = git_common_dir(self.root)
        return (common if common is not None else self.kittify) / "spec-kitty-locks"
