"""``spec-kitty agent guard pre-commit``: called by the lane worktrees' pre-commit hook."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from spec_kitty.cli.lazy import command_app

app = command_app(no_args_is_help=True, help="Git hook entry points.")


@app.command("pre-commit")
def pre_commit() -> None:
    """Refuse staged files outside the work package's owned_files, and any kitty-specs/ edit."""
    from spec_kitty.services.execution.guard import check_staged

    result = check_staged(Path.cwd())
    if not result.ok:
        sys.stderr.write(result.message + "\n")
        raise typer.Exit(1)


@app.callback()
def _guard() -> None:
    """Git hook entry points."""
