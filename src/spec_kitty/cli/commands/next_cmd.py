"""``spec-kitty next``: the agent loop's single entry point."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import console, emit_json

RESULTS = ("success", "failed", "blocked")

app = command_app()


@app.command("next", epilog=options.examples(
    "spec-kitty next --agent claude --mission todo-app --json                   # query",
    "spec-kitty next --agent claude --mission todo-app --result success --json  # advance"))
def next_command(
    agent: str = options.value_option(None, "--agent", help="Your agent key, e.g. claude."),
    mission: str = options.MISSION,
    result: str = typer.Option(None, "--result", click_type=options.choice(RESULTS),
                               help="Outcome of your last step. Without it, next only "
                               "answers a query."),
    reason: str = options.value_option(None, "--reason",
                                       help="Why the step failed or is blocked (with "
                                       "--result failed|blocked); recorded on the work "
                                       "package."),
    json_out: bool = options.JSON,
) -> None:
    """Decide the next step for an agent: specify, plan, tasks, implement, review, accept..."""
    from spec_kitty.services.execution.next_loop import next_step
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(mission)
    answer = next_step(project, chosen, agent, result, reason)
    if json_out:
        emit_json(answer)
    else:
        from rich.markup import escape

        what = answer["action"] or answer["mission_state"]
        if answer["wp_id"]:
            what += f" {answer['wp_id']}"
        console().print(f"[bold]{answer['kind']}[/bold]: {escape(what)} — "
                        f"{escape(answer['reason'])}")
        for failure in answer["guard_failures"]:
            console().print(f"  - {escape(failure)}")
        if answer["prompt_file"]:
            console().print(f"Prompt: {answer['prompt_file']}")
        for message in answer.get("warnings", []):
            from spec_kitty.cli.output import warn

            warn(message)
    if answer["kind"] == "blocked":
        raise typer.Exit(1)
