"""Commit a handful of paths without touching anything else the user has staged.

``git commit -- <paths>`` would do, but it runs the user's hooks, refuses during a
merge and may ask for a signature. This builds the commit with plumbing instead:
a temporary index starts from ``HEAD``, takes the given paths from the working
tree, becomes a tree and a commit, and ``HEAD`` moves with a compare-and-swap.
The real index entries of just those paths are set to the new ``HEAD``, so
``git status`` shows neither a phantom staged revert nor a lost staged change.

``HEAD`` and the index must move together: a ``HEAD`` that moved while the index
kept the old blobs makes the user's next ``git commit`` revert the status files.
So the whole commit holds ``index.lock`` the way git itself does (create it
exclusively, write the new index into it, rename it over ``index``); while another
git process holds it (a ``git commit`` running its hooks, an editor refreshing the
index) the commit waits, then gives up and leaves the files uncommitted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
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
# First word of the index.lock we hold, so a lock left by a killed spec-kitty can be
# told from a running git command's.
LOCK_MARKER = "spec-kitty-status-commit"


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


def commit_paths_isolated(repo: Path, paths: list[str], message: str,
                          on_locked: Callable[[], None] | None = None) -> str | None:
    """Commit exactly ``paths`` as they are in the working tree on top of ``HEAD``.

    Returns the new commit's sha, or None when the paths already match ``HEAD``.
    Raises :class:`CommitSkipped` when no commit can be made safely (no commits yet,
    detached HEAD, a merge or rebase in progress, no git identity). Other staged
    changes stay staged and uncommitted; the user's hooks do not run. Callers
    serialise on a lock of their own: a stale ``index.lock`` of a killed spec-kitty
    is reclaimed, which is only safe when no other spec-kitty is reclaiming it.
    ``on_locked`` runs while the lock is held, just before ``HEAD`` moves (the
    crash-recovery tests kill the process there).
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
    with _index_lock(directory) as index:
        return _commit_locked(repo, directory, index, paths, message, on_locked)


def _owner_marker() -> bytes:
    return f"{LOCK_MARKER} {os.getpid()} {socket.gethostname()}\n".encode()


def _left_by_dead_spec_kitty(lock: Path) -> bool:
    """Whether ``lock`` is one of ours whose process is gone (killed mid-commit)."""
    try:
        words = lock.read_bytes().decode("utf-8", "replace").split()
    except OSError:
        return False
    if len(words) != 3 or words[0] != LOCK_MARKER or words[2] != socket.gethostname() \
            or not words[1].isdigit():
        return False
    try:
        os.kill(int(words[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


@contextlib.contextmanager
def _index_lock(directory: Path) -> Iterator[Path]:
    """Hold ``<git dir>/index.lock``; yields the path of a private copy of the index.

    On success the caller's edits to the copy become the index (renamed through the
    lock); on an exception the index is left as it was. Raises :class:`CommitSkipped`
    when another process keeps the lock longer than the wait. A lock left by a
    spec-kitty process that was killed while holding it is taken over at once.
    """
    index = directory / "index"
    lock = directory / "index.lock"
    deadline = time.monotonic() + runner.index_lock_wait()
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            if _left_by_dead_spec_kitty(lock):
                lock.unlink(missing_ok=True)
                continue
            if time.monotonic() >= deadline:
                raise CommitSkipped(
                    f"another git process holds {lock}; the status files were left "
                    "uncommitted (the next status change commits them; if no git command "
                    "is running, remove the stale lock file)", "GIT_INDEX_LOCKED") from None
            time.sleep(0.1)
            continue
        try:
            os.write(fd, _owner_marker())  # git ignores a held lock's content
        finally:
            os.close(fd)
        break
    copy = directory / f"spec-kitty-real-index.{os.getpid()}"
    held = True
    try:
        if index.exists():
            shutil.copyfile(index, copy)
        yield copy
        if copy.exists():
            os.replace(copy, lock)
            os.replace(lock, index)
            held = False  # the rename released it; the next index.lock is not ours
    finally:
        copy.unlink(missing_ok=True)
        if held:
            lock.unlink(missing_ok=True)


def _commit_locked(repo: Path, directory: Path, index: Path, paths: list[str],
                   message: str, on_locked: Callable[[], None] | None) -> str | None:
    for _ in range(CAS_ATTEMPTS):
        found = _head(repo)
        if found is None:
            raise CommitSkipped(f"{repo} has no commits yet", "COMMIT_SKIPPED")
        head, head_tree = found
        tree = _tree_with(repo, head, paths, directory)
        if tree == head_tree:
            _sync_index(repo, index, head, paths)
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
        # The index copy is ready before HEAD moves: a kill after update-ref leaves
        # only two renames undone.
        _sync_index(repo, index, sha, paths)
        if on_locked is not None:
            on_locked()
        subject = message.splitlines()[0]
        moved = runner.run(["update-ref", "-m", f"spec-kitty: {subject}", "HEAD", sha, head],
                           repo, check=False)
        if moved.returncode == 0:
            return sha
        # HEAD moved under us (someone committed meanwhile): rebuild on the new HEAD.
    raise CommitSkipped(f"HEAD of {repo} kept moving; the status files were left "
                        "uncommitted", "COMMIT_SKIPPED")


def _sync_index(repo: Path, index: Path, commit: str, paths: list[str]) -> None:
    """Point the entries of ``paths`` in the index copy at ``commit``, and nothing else."""
    runner.run(["reset", "-q", commit, "--", *paths], repo,
               env={"GIT_INDEX_FILE": str(index)})
