"""``spec-kitty intake``."""

from __future__ import annotations

import sys
from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.options import JSON
from spec_kitty.cli.output import console, emit_json, warn, write_text

app = command_app()


def _check_arguments(path: str | None, show: bool, force: bool) -> None:
    from spec_kitty.core.errors import UsageError

    if show and path is not None:
        raise UsageError("Give either a brief to store or --show, not both.")
    if show and force:
        raise UsageError("--force only applies when storing a brief.")
    if not show and path is None:
        raise UsageError(
            "Missing the brief: give a file path, or - to read standard input.",
            hint="Example: spec-kitty intake brief.md   (or --show to print the stored one)",
        )


def _render_stored(result: Any) -> None:
    from rich.markup import escape

    verb = "Replaced" if result.replaced else "Stored"
    console().print(
        f"[bold green]{verb}[/bold green] mission brief from {escape(result.source)} "
        f"in {escape(str(result.brief_path))}"
    )
    console().print(f"  sha256 {result.brief_hash} ({result.size_bytes} bytes)")


def _render_shown(stored: Any) -> None:
    if not stored.hash_matches:
        warn(f"{stored.brief_path} was edited after intake (its hash no longer matches).")
    # Written raw, not through rich: the brief is the user's text and may contain markup,
    # and `intake --show > file` should give back the original bytes.
    write_text(stored.text)


@app.command("intake", epilog=options.examples(
    "spec-kitty intake brief.md", "cat notes.md | spec-kitty intake -",
    "spec-kitty intake --show"))
def intake(
    path: str = typer.Argument(
        None, metavar="FILE|-", help="Brief to store (text or markdown); - reads stdin."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing brief."),
    show: bool = typer.Option(False, "--show", help="Print the stored brief instead."),
    json_out: bool = JSON,
) -> None:
    """Store a mission brief in .kittify/mission-brief.md, or print it with --show."""
    from spec_kitty.services.planning import intake as service

    _check_arguments(path, show, force)
    if show:
        stored = service.show_brief()
        if json_out:
            emit_json(stored.to_json())
        else:
            _render_shown(stored)
        return
    stdin = getattr(sys.stdin, "buffer", None) if path == service.STDIN_ARG else None
    result = service.ingest_brief(path, force=force, stdin=stdin)
    if json_out:
        emit_json(result.to_json())
    else:
        _render_stored(result)
