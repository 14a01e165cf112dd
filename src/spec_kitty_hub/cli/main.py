"""Entry point of ``spec-kitty-hub``."""

from __future__ import annotations

import typer

from spec_kitty_hub import __version__
from spec_kitty_hub.cli import devices, serve, teams, tracker, users
from spec_kitty_hub.cli.common import examples

app = typer.Typer(help="spec-kitty team hub: accounts, teams and OAuth for the spec-kitty CLI.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]})
app.command("serve", epilog=examples(
    "spec-kitty-hub serve                      # SQLite in the user data dir, 127.0.0.1:8765",
    "spec-kitty-hub serve --host 0.0.0.0 --workers 4 \\",
    "    --database postgresql://hub@db/hub --public-url https://hub.example.com"),
)(serve.serve)
app.command("migrate", epilog=examples(
    "spec-kitty-hub migrate",
    "spec-kitty-hub migrate --database postgresql://hub@db/hub --json"))(serve.migrate)
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
