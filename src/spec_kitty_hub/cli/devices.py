"""``spec-kitty-hub device approve USER_CODE --user EMAIL`` (headless machines, tests)."""

from __future__ import annotations

from typing import Annotated

import typer

from spec_kitty_hub.cli.common import DatabaseOption, JsonOption, emit, open_database, run

app = typer.Typer(help="Approve device sign-ins.", no_args_is_help=True)


@app.command("approve")
def approve(user_code: Annotated[str, typer.Argument(help="The code the CLI printed.")],
            user: Annotated[str, typer.Option("--user", metavar="EMAIL",
                                              help="Sign the device in as this user.")],
            database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Approve a pending device code on behalf of a user."""

    def action() -> None:
        from spec_kitty_hub.errors import HubError
        from spec_kitty_hub.services import accounts, grants

        _, db = open_database(database)
        with db.write() as session:
            account = accounts.get_user(session, user)
            if not account.is_active:
                raise HubError(f"{account.email} is disabled.", "USER_DISABLED")
            grants.decide_device(session, user_code, account, approve=True)
            email = account.email
        emit({"user_code": user_code, "user": email, "approved": True},
             f"approved {user_code} for {email}", as_json)

    run(as_json, action)
