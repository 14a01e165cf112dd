"""``spec-kitty status``: the kanban board for people."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app()


@app.command("status", epilog=options.examples(
    "spec-kitty status                      # the board (or every mission, if several)",
    "spec-kitty status --mission todo-app   # one mission's board",
    "spec-kitty status --all --json         # one summary row per mission"))
def status(
    mission: str = options.MISSION,
    all_missions: bool = typer.Option(False, "--all", help="One summary row per mission."),
    json_out: bool = options.JSON,
) -> None:
    """Show a mission's kanban board, or a summary of every mission.

    Without --mission, a project with one mission shows its board; with several, the
    all-missions summary. Exit 1 when a mission's event log cannot be read.
    """
    from spec_kitty.services.project.context import open_project
    from spec_kitty.services.status.board import status_view

    kind, view = status_view(open_project(), mission, all_missions)
    if json_out:
        emit_json(view)
    else:
        from spec_kitty.cli.render_board import render_all, render_board

        (render_board if kind == "board" else render_all)(view)
    if view.get("error"):
        raise typer.Exit(1)
