"""Entry point of ``spec-kitty-hub``."""

from __future__ import annotations

import typer

from spec_kitty_hub import __version__
from spec_kitty_hub.cli import devices, serve, teams, tracker, users

app = typer.Typer(help="spec-kitty team hub: accounts, teams and OAuth for the spec-kitty CLI.",
                  no_args_is_help=True, add_completion=False)
app.command("serve")(serve.serve)
app.command("migrate")(serve.migrate)
app.add_typer(users.app, name="user")
app.add_typer(teams.app, name="team")
app.add_typer(devices.app, name="device")
app.add_typer(tracker.app, name="tracker")


def _version(value: bool) -> None:
    if value:
        print(f"spec-kitty-hub {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version,
                                       is_eager=True, help="Show the version.")) -> None:
    """spec-kitty team hub."""


def main() -> None:
    app()
