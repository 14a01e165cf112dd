"""git's custom merge drivers for the status files (registered by ``spec-kitty init``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from spec_kitty.cli.lazy import command_app

app = command_app()
status_json_app = command_app()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


@app.command("merge-driver-event-log")
def merge_driver(
    base: Path = typer.Argument(..., help="%O: the common ancestor's version"),
    ours: Path = typer.Argument(..., help="%A: our version; the result is written here"),
    theirs: Path = typer.Argument(..., help="%B: their version"),
) -> None:
    """Union two branches' status event logs (git calls this during merges)."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.core.status.log_merge import merge_logs
    from spec_kitty.repo.atomic import write_bytes_atomic

    try:
        merged = merge_logs(_read(base), _read(ours), _read(theirs))
    except SpecKittyError as exc:
        # Non-zero tells git the file is conflicted; ours is left untouched.
        sys.stderr.write(f"spec-kitty event-log merge: {exc.message}\n")
        raise typer.Exit(1) from None
    write_bytes_atomic(ours, merged)


@status_json_app.command("merge-driver-status-json")
def merge_driver_status_json(
    base: Path = typer.Argument(..., help="%O: the common ancestor's version (unused)"),
    ours: Path = typer.Argument(..., help="%A: our version; the result is written here"),
    theirs: Path = typer.Argument(..., help="%B: their version"),
    pathname: str = typer.Argument(..., help="%P: the file's path in the repository"),
) -> None:
    """Regenerate status.json from both branches' logs instead of merging it."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.repo.atomic import write_bytes_atomic
    from spec_kitty.services.project.merge_drivers import merged_snapshot

    try:
        merged = merged_snapshot(_read(ours), _read(theirs), pathname, Path.cwd())
    except SpecKittyError as exc:
        sys.stderr.write(f"spec-kitty status.json merge: {exc.message}\n")
        raise typer.Exit(1) from None
    write_bytes_atomic(ours, merged)
