"""``spec-kitty-hub user add|list|disable``."""

from __future__ import annotations

from typing import Annotated

import typer

from spec_kitty_hub.cli.common import (
    DatabaseOption,
    EmailArgument,
    JsonOption,
    emit,
    examples,
    open_database,
    read_password,
    run,
)

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("add", epilog=examples(
    "printf '%s\\n' \"$PASSWORD\" | spec-kitty-hub user add ada@example.com --name Ada"))
def add(email: Annotated[str, typer.Argument(help="The user's email (their login).")],
        name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
        database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Create the user EMAIL (password read from stdin) and their private teamspace."""

    def action() -> None:
        from spec_kitty_hub.services import accounts

        password = read_password()
        _, db = open_database(database)
        with db.write() as session:
            user, team = accounts.create_user(session, email, name, password)
            payload = {"user_id": user.id, "email": user.email, "name": user.name,
                       "private_team": team.slug}
        emit(payload, f"created {payload['email']} (private teamspace {team.slug})", as_json)

    run(as_json, action)


@app.command("list", epilog=examples("spec-kitty-hub user list --json"))
def list_(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List users."""

    def action() -> None:
        from spec_kitty_hub.services import accounts

        _, db = open_database(database)
        with db.read() as session:
            users = [{"user_id": u.id, "email": u.email, "name": u.name,
                      "active": u.is_active} for u in accounts.list_users(session)]
        lines = [f"{u['email']:40} {u['name']:24} {'active' if u['active'] else 'disabled'}"
                 for u in users]
        emit({"users": users}, "\n".join(lines) or "no users", as_json)

    run(as_json, action)


@app.command("disable", epilog=examples("spec-kitty-hub user disable ada@example.com"))
def disable(email: EmailArgument, database: DatabaseOption = None,
            as_json: JsonOption = False) -> None:
    """Disable the user EMAIL and end all their sessions (CLI and browser)."""

    def action() -> None:
        from spec_kitty_hub.services import accounts

        _, db = open_database(database)
        with db.write() as session:
            user = accounts.disable_user(session, email)
            payload = {"user_id": user.id, "email": user.email, "active": False}
        emit(payload, f"disabled {payload['email']}", as_json)

    run(as_json, action)
