"""``spec-kitty-hub tracker connect|list|disconnect|keygen``: a team's provider connections.

The secret (token, API key) is read from standard input, never from argv, and stored
encrypted (see :mod:`spec_kitty_hub.tracker.crypto` for where the key comes from).
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from spec_kitty_hub.cli.common import (
    DatabaseOption,
    JsonOption,
    TeamArgument,
    emit,
    examples,
    open_database,
    run,
)
from spec_kitty_hub.errors import HubError

app = typer.Typer(help="Connect teams to GitHub, GitLab, Jira and Linear.",
                  no_args_is_help=True, rich_markup_mode=None)


def _settings(pairs: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise HubError(f"--set takes KEY=VALUE, got {pair!r}.", "TRACKER_BAD_CONNECTION")
        settings[key.strip()] = value.strip()
    return settings


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"{name}: ")
    return sys.stdin.readline().strip()


@app.command("connect", epilog=examples(
    "printf '%s\\n' \"$GITHUB_TOKEN\" | spec-kitty-hub tracker connect platform github \\",
    "    --set repo=acme/shop"))
def connect(
    team: Annotated[str, typer.Argument(help="Team id.")],
    provider: Annotated[str, typer.Argument(help="github, gitlab, jira or linear.")],
    setting: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Non-secret setting (repeatable): github repo=owner/name [base_url=…]; "
             "gitlab project=group/name [base_url=…]; jira project_key=… site_url=… "
             "email=…; linear team_key=… [base_url=…].")] = None,
    label: Annotated[str | None, typer.Option("--label", help="Display label.")] = None,
    database: DatabaseOption = None, as_json: JsonOption = False,
) -> None:
    """Add or update the connection of team TEAM to PROVIDER (github, gitlab, jira or
    linear); the token or API key is read from stdin."""

    def action() -> None:
        from spec_kitty_hub.tracker.connections import SECRET_SETTING
        from spec_kitty_hub.tracker.connections import connect as add
        from spec_kitty_hub.tracker.crypto import SecretBox, resolve_key

        settings = _settings(setting or [])
        name = provider.strip().lower()
        secret = _read_secret(SECRET_SETTING.get(name, "secret"))
        _, db = open_database(database)
        box = SecretBox(resolve_key(db.url))
        with db.write() as session:
            info = add(session, box, team, name, settings, secret, label)
        emit(info.to_json(), f"connected {team} to {info.display_label} (id {info.id})",
             as_json)

    run(as_json, action)


@app.command("list", epilog=examples("spec-kitty-hub tracker list --team platform --json"))
def list_(team: Annotated[str | None, typer.Option("--team", help="Only this team.")] = None,
          database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List connections (settings only; secrets are never shown)."""

    def action() -> None:
        from spec_kitty_hub.tracker.connections import list_connections

        _, db = open_database(database)
        with db.read() as session:
            found = [c.to_json() for c in list_connections(session, team)]
        lines = [f"{c['id']:>4} {c['team']:24} {c['provider']:8} {c['resource_id']}"
                 for c in found]
        emit({"connections": found}, "\n".join(lines) or "no connections", as_json)

    run(as_json, action)


@app.command("disconnect", epilog=examples("spec-kitty-hub tracker disconnect platform 3"))
def disconnect(team: TeamArgument,
               connection_id: Annotated[int, typer.Argument(help="Its id (see `tracker list`).")],
               database: DatabaseOption = None,
               as_json: JsonOption = False) -> None:
    """Remove the connection CONNECTION_ID (see `tracker list`) of team TEAM; its
    bindings and mappings go with it."""

    def action() -> None:
        from spec_kitty_hub.tracker.connections import disconnect as remove

        _, db = open_database(database)
        with db.write() as session:
            remove(session, team, connection_id)
        emit({"team": team, "id": connection_id, "removed": True},
             f"removed connection {connection_id} of {team}", as_json)

    run(as_json, action)


@app.command("keygen", epilog=examples(
    "export SPEC_KITTY_HUB_TRACKER_KEY=\"$(spec-kitty-hub tracker keygen)\""))
def keygen() -> None:
    """Print a new encryption key for SPEC_KITTY_HUB_TRACKER_KEY."""
    from spec_kitty_hub.tracker.crypto import generate_key

    print(generate_key())
