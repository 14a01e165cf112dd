"""Options, database opening and output shared by every admin command.

Success prints a human line, or with ``--json`` exactly one JSON object on stdout.
Failures print ``{"error", "error_code"}`` (``--json``) or a message on stderr and exit 1;
usage errors exit 2 (typer).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from spec_kitty_hub.config import Settings, load_settings, redact_url
from spec_kitty_hub.errors import HubError

if TYPE_CHECKING:
    from spec_kitty_hub.db.engine import Database

DatabaseOption = Annotated[str | None, typer.Option(
    "--database", metavar="URL",
    help="sqlite:///PATH or postgresql://USER@HOST/DB (default: $SPEC_KITTY_HUB_DATABASE_URL, "
         "else a SQLite file in the user data dir).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
TeamArgument = Annotated[str, typer.Argument(help="Team id (see `team list`).")]
EmailArgument = Annotated[str, typer.Argument(help="The user's email (their login).")]


def examples(*lines: str) -> str:
    """A help epilog listing example invocations (``\b`` keeps click from re-wrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def fail(error: HubError, as_json: bool) -> NoReturn:
    if as_json:
        print(json.dumps({"error": error.message, "error_code": error.code}))
    else:
        print(f"error: {error.message}", file=sys.stderr)
    raise typer.Exit(1)


def emit(payload: dict[str, Any], text: str, as_json: bool) -> None:
    print(json.dumps(payload) if as_json else text)


def run(as_json: bool, action: Callable[[], None]) -> None:
    """Run ``action``, turning hub and database errors into exit 1 without a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        action()
    except HubError as error:
        fail(error, as_json)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        fail(HubError(f"Database error: {reason}", "DATABASE_ERROR"), as_json)


def open_database(database: str | None) -> tuple[Settings, Database]:
    """Settings and a ready database: SQLite is migrated on the spot (embedded use);
    PostgreSQL must be migrated explicitly (HubError ``MIGRATION_PENDING``)."""
    from spec_kitty_hub.db import migrate
    from spec_kitty_hub.db.engine import Database

    settings = load_settings(database)
    db = Database(settings.database_url)
    if settings.is_sqlite:
        migrate.upgrade(db.engine)
    elif migrate.pending(db.engine):
        raise HubError(f"The database {redact_url(settings.database_url)} is not at the "
                       "current schema: run `spec-kitty-hub migrate` first.",
                       "MIGRATION_PENDING")
    return settings, db


def read_password() -> str:
    """The new password: prompted twice on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise HubError("The passwords do not match.", "PASSWORD_MISMATCH")
        return first
    line = sys.stdin.readline()
    if not line.strip():
        raise HubError("Give the password on standard input (one line).", "NO_PASSWORD")
    return line.rstrip("\r\n")
