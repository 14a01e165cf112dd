"""``spec-kitty agent action implement|review``."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app(no_args_is_help=True, help="Implement or review a work package.")

AGENT = options.value_option(..., "--agent", help="Your agent key, e.g. claude.")


def _print_prompt(result: dict) -> None:
    from spec_kitty.cli.output import write_text

    write_text(result["prompt"].rstrip() + "\n")


@app.command("implement", epilog=options.examples(
    "spec-kitty agent action implement WP01 --agent claude --mission todo-app",
    "spec-kitty agent action implement --agent claude --json   # the next ready one"))
def implement(
    wp_id: str = typer.Argument(None, help="Work package (default: the next one ready)."),
    agent: str = AGENT,
    mission: str = options.MISSION,
    json_out: bool = options.JSON,
) -> None:
    """Claim a work package, prepare its lane worktree and print its prompt."""
    from spec_kitty.services.execution.actions import implement as run_implement
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(mission)
    result = run_implement(project, chosen, wp_id, agent)
    if json_out:
        emit_json(result)
    else:
        _print_prompt(result)


@app.command("review", epilog=options.examples(
    "spec-kitty agent action review WP01 --agent reviewer --mission todo-app"))
def review(
    wp_id: str = typer.Argument(None, help="Work package (default: the first for review)."),
    agent: str = AGENT,
    mission: str = options.MISSION,
    json_out: bool = options.JSON,
) -> None:
    """Take a work package into review and print the review prompt with its diff range."""
    from spec_kitty.services.execution.actions import review as run_review
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(mission)
    result = run_review(project, chosen, wp_id, agent)
    if json_out:
        emit_json(result)
    else:
        _print_prompt(result)


# `spec-kitty implement` is the same command at the top level.
implement_app = command_app()
implement_app.command("implement", epilog=options.examples(
    "spec-kitty implement WP01 --agent claude --mission todo-app"))(implement)
