"""Run ``git`` as a subprocess and turn failures into clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
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


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Stable, parseable output regardless of the user's locale.
    env["LC_ALL"] = "C"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    return env


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    check: bool = True,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``git <args>`` in ``cwd``; raise :class:`GitError` on failure when ``check``."""
    proc = subprocess.run(
        [git_executable(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input_text,
        env=_env(),
    )
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr)
    return proc


def output(args: Sequence[str], cwd: Path) -> str:
    return run(args, cwd).stdout.strip()


def ok(args: Sequence[str], cwd: Path) -> bool:
    return run(args, cwd, check=False).returncode == 0
