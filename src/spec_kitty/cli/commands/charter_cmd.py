"""``spec-kitty charter``: create, show and hand out the project charter."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

# The actions charter context knows (services.charter.ACTIONS; kept here so --help
# does not import the service).
ACTIONS = ("specify", "plan", "tasks", "implement", "review", "accept", "merge")

app = command_app(no_args_is_help=True,
                  help="Project governance for agents.")


def _print_text(text: str) -> None:
    # Plain stdout, not rich: the charter is Markdown and must reach agents byte for
    # byte, without "[...]" being read as markup or long lines being re-wrapped.
    from spec_kitty.cli.output import write_text

    write_text(text if text.endswith("\n") else text + "\n")


@app.command("init", epilog=options.examples("spec-kitty charter init"))
def init(
    force: bool = typer.Option(False, "--force", help="Replace an existing charter."),
    json_out: bool = options.JSON,
) -> None:
    """Write the default charter to .kittify/charter/charter.md."""
    from spec_kitty.services.planning.charter import init_charter
    from spec_kitty.services.project.context import open_project

    result = init_charter(open_project(), force=force)
    if json_out:
        emit_json(result.to_json())
        return
    from rich.markup import escape

    from spec_kitty.cli.output import console

    verb = "Created" if result.created else "Replaced"
    console().print(f"{verb} the charter at {escape(str(result.charter_path))}. "
                    "Edit it to fit your project.")


@app.command("show", epilog=options.examples("spec-kitty charter show"))
def show(json_out: bool = options.JSON) -> None:
    """Print the project charter."""
    from spec_kitty.services.planning.charter import charter_path, show_charter
    from spec_kitty.services.project.context import open_project

    project = open_project()
    text = show_charter(project)
    if json_out:
        emit_json({"charter_path": str(charter_path(project)), "present": True, "text": text})
    else:
        _print_text(text)


@app.command("context", epilog=options.examples(
    "spec-kitty charter context --action implement --json"))
def context(
    action: str = typer.Option(
        ..., "--action", "-a", click_type=options.choice(ACTIONS),
        help="The step the agent is about to take.",
    ),
    mark_loaded: bool = typer.Option(
        True, "--mark-loaded/--no-mark-loaded",
        help="Record this load, so the next load of the action is compact.",
    ),
    json_out: bool = options.JSON,
) -> None:
    """Print the charter text an agent should load before an action."""
    from spec_kitty.services.planning.charter import load_context
    from spec_kitty.services.project.context import open_project

    result = load_context(open_project(), action, mark_loaded=mark_loaded)
    if json_out:
        emit_json(result.to_json())
    else:
        _print_text(result.text)
