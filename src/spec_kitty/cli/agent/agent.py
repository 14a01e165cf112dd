"""``spec-kitty agent ...``: the command groups agents drive (JSON in, JSON out)."""

from __future__ import annotations

from spec_kitty.cli.lazy import Entry, LazyGroup, command_app


class AgentGroup(LazyGroup):
    registry = {
        "mission": Entry(
            "spec_kitty.cli.agent.agent_mission", "Create missions and pass the planning gates."
        ),
        "tasks": Entry("spec_kitty.cli.agent.agent_tasks", "Work-package moves and status."),
        "status": Entry(
            "spec_kitty.cli.agent.agent_status", "Validate and materialize event logs."
        ),
        "action": Entry("spec_kitty.cli.agent.agent_action", "Implement or review a work package."),
        "guard": Entry("spec_kitty.cli.agent.agent_guard", "Git hook entry points.", hidden=True),
    }


app = command_app(
    cls=AgentGroup, no_args_is_help=True, help="Agent-facing commands (JSON in, JSON out)."
)


@app.callback()
def _agent() -> None:
    """Agent-facing commands (JSON in, JSON out)."""
