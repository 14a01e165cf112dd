"""``spec-kitty-hub device approve USER_CODE --user EMAIL`` and ``device deny USER_CODE``:
the operator's side of the device flow (headless machines, tests). A denied code makes
the waiting CLI's next poll answer ``access_denied`` (RFC 8628 §3.5)."""

from __future__ import annotations

from typing import Annotated

import typer

from spec_kitty_hub.cli.common import (
    DatabaseOption,
    JsonOption,
    emit,
    examples,
    open_database,
    run,
)

app = typer.Typer(help="Approve or deny device sign-ins.", no_args_is_help=True,
                  rich_markup_mode=None)
UserCode = Annotated[str, typer.Argument(help="The code the CLI printed.")]


@app.command("approve", epilog=examples(
    "spec-kitty-hub device approve ABCD-EFGH --user ada@example.com"))
def approve(user_code: UserCode,
            user: Annotated[str, typer.Option("--user", metavar="EMAIL",
                                              help="Sign the device in as this user.")],
            database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Approve the pending device code USER_CODE (as the CLI printed it) on behalf of
    a user."""

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


@app.command("deny", epilog=examples("spec-kitty-hub device deny ABCD-EFGH"))
def deny(user_code: UserCode, database: DatabaseOption = None,
         as_json: JsonOption = False) -> None:
    """Deny the pending device code USER_CODE: the CLI that is waiting for it stops with
    ``access_denied``."""

    def action() -> None:
        from spec_kitty_hub.services import grants

        _, db = open_database(database)
        with db.write() as session:
            grants.decide_device(session, user_code, None, approve=False)
        emit({"user_code": user_code, "denied": True}, f"denied {user_code}", as_json)

    run(as_json, action)
