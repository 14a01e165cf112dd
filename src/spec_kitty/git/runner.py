"""Run ``git`` as a subprocess and turn failures into clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from spec_kitty.core.errors import SpecKittyError


class GitError(SpecKittyError):
    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        detail = stderr.strip() or f"exit status {returncode}"
        super().__init__(
            f"git {' '.join(args)} failed: {detail}",
            "GIT_ERROR",
            details={"git_args": list(args), "returncode": returncode},
        )
        self.returncode = returncode
        self.stderr = stderr


class GitNotInstalled(SpecKittyError):
    def __init__(self) -> None:
        super().__init__(
            "git is not installed or not on PATH.",
            "GIT_NOT_FOUND",
            hint="Install git (https://git-scm.com) and try again.",
        )


def git_executable() -> str:
    exe = shutil.which("git")
    if exe is None:
        raise GitNotInstalled()
    return exe


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Stable, parseable output regardless of the user's locale.
    env["LC_ALL"] = "C"
    # A command run from inside a git hook inherits the hook's repository settings;
    # callers that mean to use them (the commit guard reads GIT_INDEX_FILE) say so.
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    if extra:
        env.update(extra)
    return env


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    check: bool = True,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``git <args>`` in ``cwd``; raise :class:`GitError` on failure when ``check``.

    ``env`` adds variables (e.g. ``GIT_INDEX_FILE`` for a temporary index) on top of
    the cleaned environment.
    """
    proc = subprocess.run(
        [git_executable(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input_text,
        env=_env(env),
    )
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr)
    return proc


def output(args: Sequence[str], cwd: Path, *, env: dict[str, str] | None = None) -> str:
    return run(args, cwd, env=env).stdout.strip()


def ok(args: Sequence[str], cwd: Path) -> bool:
    return run(args, cwd, check=False).returncode == 0


# How long to wait for another git process's index.lock; SPEC_KITTY_GIT_LOCK_WAIT
# (seconds) overrides it.
INDEX_LOCK_WAIT_SECONDS = 30.0


def index_lock_wait() -> float:
    """Seconds to wait for an ``index.lock`` held by another process."""
    try:
        return max(0.0, float(os.environ.get("SPEC_KITTY_GIT_LOCK_WAIT", "")))
    except ValueError:
        return INDEX_LOCK_WAIT_SECONDS


def run_waiting_for_index(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``run(args, check=False)``, again while git reports a busy ``index.lock``.

    git fails at once when another process (a ``git status``, a spec-kitty status
    commit) holds the index lock, before changing anything, so the command is simply
    retried until :func:`index_lock_wait` runs out. The wait is announced once on stderr.
    """
    deadline = time.monotonic() + index_lock_wait()
    announced = False
    while True:
        proc = run(args, cwd, check=False)
        busy = proc.returncode != 0 and "index.lock" in proc.stderr and \
            "File exists" in proc.stderr
        if not busy or time.monotonic() >= deadline:
            return proc
        if not announced:
            sys.stderr.write(f"spec-kitty: another git process holds the index lock in {cwd}; "
                             "waiting for it\n")
            sys.stderr.flush()
            announced = True
        time.sleep(0.1)
