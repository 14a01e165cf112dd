"""``spec-kitty merge-driver-event-log %O %A %B``: git's custom merge driver."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from spec_kitty.cli.lazy import command_app

app = command_app()


@app.command("merge-driver-event-log")
def merge_driver(
    base: Path = typer.Argument(..., help="%O: the common ancestor's version"),
    ours: Path = typer.Argument(..., help="%A: our version; the result is written here"),
    theirs: Path = typer.Argument(..., help="%B: their version"),
) -> None:
    """Union two branches' status event logs (git calls this during merges)."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.core.log_merge import merge_logs
    from spec_kitty.repo.atomic import write_bytes_atomic

    def read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return b""

    try:
        merged = merge_logs(read(base), read(ours), read(theirs))
    except SpecKittyError as exc:
        # Non-zero tells git the file is conflicted; ours is left untouched.
        sys.stderr.write(f"spec-kitty event-log merge: {exc.message}\n")
        raise typer.Exit(1) from None
    write_bytes_atomic(ours, merged)
