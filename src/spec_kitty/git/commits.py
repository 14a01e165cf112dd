"""Commit a handful of paths without touching anything else the user has staged.

``git commit -- <paths>`` would do, but it runs the user's hooks, refuses during a
merge and may ask for a signature. This builds the commit with plumbing instead:
a temporary index starts from ``HEAD``, takes the given paths from the working
tree, becomes a tree and a commit, and ``HEAD`` moves with a compare-and-swap.
Finally the real index entries of just those paths are set to the new ``HEAD``,
so ``git status`` shows neither a phantom staged revert nor a lost staged change.
"""

from __future__ import annotations

import os
from pathlib import Path

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.git import runner

# Present while git is in the middle of an operation that owns HEAD and the index.
OPERATION_MARKERS = {
    "MERGE_HEAD": "a merge",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or am",
}
CAS_ATTEMPTS = 3


class CommitSkipped(SpecKittyError):
    """The commit was not made; ``message`` says why (nothing was changed)."""


def git_dir(repo: Path) -> Path:
    """The (per-worktree) git directory of ``repo``, absolute."""
    dot_git = repo / ".git"
    if dot_git.is_dir():  # the main checkout: no need to ask git
        return dot_git.resolve()
    return Path(runner.output(["rev-parse", "--absolute-git-dir"], repo))


def _head(repo: Path) -> tuple[str, str] | None:
    """(commit, tree) of HEAD, or None before the first commit."""
    proc = runner.run(["rev-parse", "HEAD^{commit}", "HEAD^{tree}"], repo, check=False)
    lines = proc.stdout.split()
    return (lines[0], lines[1]) if proc.returncode == 0 and len(lines) == 2 else None


def _tree_with(repo: Path, head: str, paths: list[str], directory: Path) -> str:
    index = directory / f"spec-kitty-index.{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        runner.run(["read-tree", head], repo, env=env)
        # --add/--remove take each path as it is in the working tree (ignored or not).
        runner.run(["update-index", "--add", "--remove", "--", *paths], repo, env=env)
        return runner.output(["write-tree"], repo, env=env)
    finally:
        index.unlink(missing_ok=True)


def commit_paths_isolated(repo: Path, paths: list[str], message: str) -> str | None:
    """Commit exactly ``paths`` as they are in the working tree on top of ``HEAD``.

    Returns the new commit's sha, or None when the paths already match ``HEAD``.
    Raises :class:`CommitSkipped` when no commit can be made safely (no commits yet,
    detached HEAD, a merge or rebase in progress, no git identity). Other staged
    changes stay staged and uncommitted; the user's hooks do not run.
    """
    if not paths:
        return None
    directory = git_dir(repo)
    busy = next((name for marker, name in OPERATION_MARKERS.items()
                 if (directory / marker).exists()), None)
    if busy:
        raise CommitSkipped(f"{busy} is in progress in {repo}", "COMMIT_SKIPPED")
    try:
        symbolic = (directory / "HEAD").read_text(encoding="utf-8").startswith("ref:")
    except OSError:
        symbolic = False
    if not symbolic:
        raise CommitSkipped(f"{repo} is on a detached HEAD", "COMMIT_SKIPPED")
    for _ in range(CAS_ATTEMPTS):
        found = _head(repo)
        if found is None:
            raise CommitSkipped(f"{repo} has no commits yet", "COMMIT_SKIPPED")
        head, head_tree = found
        tree = _tree_with(repo, head, paths, directory)
        if tree == head_tree:
            return None
        proc = runner.run(["commit-tree", "--no-gpg-sign", "-p", head, "-m", message, tree],
                          repo, check=False)
        if proc.returncode != 0:
            text = proc.stderr + proc.stdout
            if "tell me who you are" in text or "identity unknown" in text or \
                    "empty ident" in text:
                raise CommitSkipped("git does not know who you are (set user.name and "
                                    "user.email)", "GIT_IDENTITY_MISSING")
            raise runner.GitError(["commit-tree", tree], proc.returncode, text)
        sha = proc.stdout.strip()
        subject = message.splitlines()[0]
        moved = runner.run(["update-ref", "-m", f"spec-kitty: {subject}", "HEAD", sha, head],
                           repo, check=False)
        if moved.returncode == 0:
            _sync_index(repo, paths)
            return sha
        # HEAD moved under us (someone committed meanwhile): rebuild on the new HEAD.
    raise CommitSkipped(f"HEAD of {repo} kept moving; the status files were left "
                        "uncommitted", "COMMIT_SKIPPED")


def _sync_index(repo: Path, paths: list[str]) -> None:
    """Point the real index entries of ``paths`` at the new HEAD, and nothing else."""
    for _ in range(CAS_ATTEMPTS):
        if runner.run(["reset", "-q", "--", *paths], repo, check=False).returncode == 0:
            return
        import time

        time.sleep(0.2)  # another git process holds index.lock; it is usually brief
