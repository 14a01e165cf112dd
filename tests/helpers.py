"""Helpers shared by tests: real git, the real CLI binary, strict JSON parsing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

BIN_DIR = Path(sys.executable).parent
CLI = BIN_DIR / "spec-kitty"


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def make_git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# demo\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "initial commit")
    return path


def run_cli(
    args: Sequence[str],
    cwd: Path,
    *,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    **kwargs: object,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [*prefix, str(CLI), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input_text,
        env=full_env,
        **kwargs,  # type: ignore[arg-type]
    )


def parse_one_json(stdout: str) -> dict:
    """Exactly one JSON object, alone on stdout."""
    text = stdout.strip()
    assert text, "expected a JSON object on stdout, got nothing"
    assert "\n" not in text, f"expected one line of JSON, got: {stdout!r}"
    obj = json.loads(text)
    assert isinstance(obj, dict)
    return obj
