"""``spec-kitty accept``."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import console, emit_json
from spec_kitty.cli.values import default_actor

app = command_app()


@app.command("accept", epilog=options.examples(
    "spec-kitty accept --mission todo-app --json"))
def accept(
    mission: str = options.MISSION,
    actor: str = options.ACTOR,
    agent: str = typer.Option(None, "--agent", help="Your agent key; recorded as "
                              "accepted_by unless --actor says otherwise."),
    json_out: bool = options.JSON,
) -> None:
    """Check that every work package is approved and the documents are complete; record it."""
    from rich.markup import escape

    from spec_kitty.services.execution.accept import accept as run_accept
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(mission)
    result = run_accept(project, chosen, default_actor(actor or agent))
    if json_out:
        emit_json(result)
    elif result.get("already_accepted"):
        console().print(escape(result["message"]))
    else:
        for check in result["checks"]:
            mark = "[green]ok[/green]  " if check["ok"] else "[red]FAIL[/red]"
            console().print(f"{mark} {check['check']:15} {escape(check['detail'])}")
        if result["ok"]:
            console().print(f"Accepted {chosen.slug}"
                            + (f" ({result['commit_hash'][:10]})" if result["commit_hash"] else ""))
        else:
            console().print("Not accepted: fix the failed checks and run accept again.")
    if not result["ok"]:
        raise typer.Exit(1)
