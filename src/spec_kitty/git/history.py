"""History queries and merges run inside a given work tree."""

from __future__ import annotations

from pathlib import Path

from spec_kitty.git import runner


def rev(repo: Path, ref: str) -> str | None:
    proc = runner.run(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], repo, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    return runner.ok(["merge-base", "--is-ancestor", ancestor, descendant], repo)


def merge_base(repo: Path, a: str, b: str) -> str | None:
    proc = runner.run(["merge-base", a, b], repo, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def commits_ahead(repo: Path, ref: str, base: str) -> int:
    return int(runner.output(["rev-list", "--count", ref, f"^{base}"], repo) or 0)


def changed_files(repo: Path, base: str, ref: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """Files touched by the non-merge commits of ``ref`` that ``base`` and ``exclude`` lack."""
    out = runner.output(["log", "--no-merges", "--name-only", "--format=", ref, f"^{base}",
                         *[f"^{ref_}" for ref_ in exclude]], repo)
    return sorted({line for line in out.splitlines() if line})


def tree_of(repo: Path, ref: str) -> str:
    return runner.output(["rev-parse", f"{ref}^{{tree}}"], repo)


def unmerged_paths(worktree: Path) -> list[str]:
    out = runner.output(["diff", "--name-only", "--diff-filter=U"], worktree)
    return [line for line in out.splitlines() if line]


def merge_in_progress(worktree: Path) -> bool:
    return runner.ok(["rev-parse", "-q", "--verify", "MERGE_HEAD"], worktree)


def rebase_in_progress(worktree: Path) -> bool:
    git_dir = Path(runner.output(["rev-parse", "--git-dir"], worktree))
    if not git_dir.is_absolute():
        git_dir = worktree / git_dir
    return (git_dir / "rebase-merge").exists() or (git_dir / "rebase-apply").exists()


def merge(worktree: Path, ref: str, message: str, *, no_ff: bool = True,
          no_verify: bool = True) -> tuple[bool, list[str]]:
    """Merge ``ref`` into the work tree's HEAD; returns (ok, conflicting paths).

    A conflict is left in place (MERGE_HEAD set) so it can be resolved or aborted.
    """
    args = ["merge", "--no-edit", "-m", message]
    if no_ff:
        args.append("--no-ff")
    if no_verify:
        args.append("--no-verify")
    proc = runner.run([*args, ref], worktree, check=False)
    if proc.returncode == 0:
        return True, []
    conflicts = unmerged_paths(worktree)
    if not conflicts and not merge_in_progress(worktree):
        raise runner.GitError(["merge", ref], proc.returncode, proc.stderr + proc.stdout)
    return False, conflicts


def abort_merge(worktree: Path) -> None:
    if merge_in_progress(worktree):
        runner.run(["merge", "--abort"], worktree)


def checkout_detached(worktree: Path, ref: str) -> None:
    runner.run(["checkout", "-q", "--detach", ref], worktree)


def reset_hard(worktree: Path, ref: str) -> None:
    """Only for work trees spec-kitty owns (temporary merge trees, freshly made lanes)."""
    runner.run(["reset", "-q", "--hard", ref], worktree)


def commit_tree(repo: Path, tree: str, parent: str, message: str) -> str:
    return runner.output(["commit-tree", tree, "-p", parent, "-m", message], repo)


def fast_forward(worktree: Path, ref: str) -> tuple[bool, str]:
    """``git merge --ff-only``: moves a checked-out branch and its files forward.

    git refuses rather than overwrite uncommitted local changes, so this never
    loses a user's work; the refusal text is returned for the message.
    """
    proc = runner.run_waiting_for_index(["merge", "--ff-only", "-q", ref], worktree)
    return proc.returncode == 0, (proc.stderr + proc.stdout).strip()


def reset_keep(worktree: Path, ref: str) -> tuple[bool, str]:
    """``git reset --keep``: moves the branch back, refusing to drop local changes."""
    proc = runner.run_waiting_for_index(["reset", "-q", "--keep", ref], worktree)
    return proc.returncode == 0, (proc.stderr + proc.stdout).strip()
