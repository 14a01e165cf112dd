"""``spec-kitty agent ...``: the command groups agents drive (JSON in, JSON out)."""

from __future__ import annotations

import typer

from spec_kitty.cli.lazy import Entry, LazyGroup


class AgentGroup(LazyGroup):
    registry = {
        "tasks": Entry("spec_kitty.cli.agent_tasks", "Work-package moves and status."),
        "status": Entry("spec_kitty.cli.agent_status", "Validate and materialise event logs."),
    }


app = typer.Typer(cls=AgentGroup, no_args_is_help=True, rich_markup_mode=None,
                  help="Agent-facing commands (JSON in, JSON out).")


@app.callback()
def _agent() -> None:
    """Agent-facing commands (JSON in, JSON out)."""
