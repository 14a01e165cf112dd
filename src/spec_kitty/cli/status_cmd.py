"""``spec-kitty status``: the kanban board for people."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app()


@app.command("status")
def status(
    mission: str = options.MISSION,
    all_missions: bool = typer.Option(False, "--all", help="One summary row per mission."),
    json_out: bool = options.JSON,
) -> None:
    """Show a mission's kanban board (or every mission with --all)."""
    from spec_kitty.services.board import all_missions_summary, mission_board
    from spec_kitty.services.context import open_mission, open_project

    if all_missions:
        summary = all_missions_summary(open_project())
        if json_out:
            emit_json(summary)
        else:
            from spec_kitty.cli.render_board import render_all

            render_all(summary)
        if summary["unreadable"]:
            raise typer.Exit(1)
        return
    from spec_kitty.cli.render_board import show_board
    from spec_kitty.services.status_health import board_notes

    project, chosen = open_mission(mission)
    notes = board_notes(project, chosen)
    show_board({**mission_board(project, chosen), **notes}, json_out)
    if not json_out:
        from spec_kitty.cli.output import warn

        for wp_id, why in notes["blocked"].items():
            warn(f"{wp_id} is blocked ({why['actor']}): {why['reason'] or 'no reason given'}")
        for warning in notes["warnings"]:
            warn(warning)
