"""``spec-kitty-hub team add|list`` and ``team member add|remove``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from spec_kitty_hub.cli.common import (
    DatabaseOption,
    EmailArgument,
    JsonOption,
    TeamArgument,
    emit,
    examples,
    open_database,
    run,
)

app = typer.Typer(help="Manage teams.", no_args_is_help=True,
                  rich_markup_mode=None)
members = typer.Typer(help="Add or remove team members.", no_args_is_help=True,
                     rich_markup_mode=None)
app.add_typer(members, name="member")


class Role(StrEnum):
    owner = "owner"
    member = "member"


@app.command("add", epilog=examples(
    "spec-kitty-hub team add platform --name 'Platform team' --owner ada@example.com"))
def add(slug: Annotated[str, typer.Argument(help="Team id: lower-case letters, digits, -.")],
        name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
        owner: Annotated[str | None, typer.Option("--owner", metavar="EMAIL",
                                                  help="First owner.")] = None,
        database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Create the shared team SLUG (lower-case letters, digits and -)."""

    def action() -> None:
        from spec_kitty_hub.services import accounts

        _, db = open_database(database)
        with db.write() as session:
            team = accounts.create_team(session, slug, name, owner)
            payload = {"id": team.slug, "name": team.name, "owner": owner}
        emit(payload, f"created team {slug}", as_json)

    run(as_json, action)


@app.command("list", epilog=examples("spec-kitty-hub team list --json"))
def list_(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List teams with their member counts."""

    def action() -> None:
        from spec_kitty_hub.services import accounts

        _, db = open_database(database)
        with db.read() as session:
            teams = [{"id": t.slug, "name": t.name, "members": count,
                      "is_private_teamspace": t.is_private_teamspace}
                     for t, count in accounts.list_teams(session)]
        lines = [f"{t['id']:32} {t['name']:32} {t['members']} member(s)"
                 f"{' (private)' if t['is_private_teamspace'] else ''}" for t in teams]
        emit({"teams": teams}, "\n".join(lines) or "no teams", as_json)

    run(as_json, action)


@members.command("add", epilog=examples(
    "spec-kitty-hub team member add platform bob@example.com --role owner"))
def member_add(team: TeamArgument, email: EmailArgument,
               role: Annotated[Role, typer.Option("--role", help="Their role in the team.")]
               = Role.member,
               database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Add the user EMAIL to the team TEAM (or change their role)."""

    def action() -> None:
        from spec_kitty_hub.services import accounts

        _, db = open_database(database)
        with db.write() as session:
            accounts.add_member(session, team, email, role.value)
        emit({"team": team, "email": email.strip().lower(), "role": role.value},
             f"{email} is now {role.value} of {team}", as_json)

    run(as_json, action)


@members.command("remove", epilog=examples(
    "spec-kitty-hub team member remove platform bob@example.com"))
def member_remove(team: TeamArgument, email: EmailArgument, database: DatabaseOption = None,
                  as_json: JsonOption = False) -> None:
    """Remove the user EMAIL from the team TEAM."""

    def action() -> None:
        from spec_kitty_hub.services import accounts

        _, db = open_database(database)
        with db.write() as session:
            accounts.remove_member(session, team, email)
        emit({"team": team, "email": email.strip().lower(), "removed": True},
             f"removed {email} from {team}", as_json)

    run(as_json, action)
