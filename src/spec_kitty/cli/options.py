"""Option declarations shared by several commands, so flags read the same everywhere."""

from __future__ import annotations

import typer

JSON = typer.Option(False, "--json", help="Print exactly one JSON object on stdout.")
MISSION = typer.Option(
    None, "--mission", "-m",
    help="Mission slug, mission id, its first 8 characters, or a unique slug prefix.",
)
ACTOR = typer.Option(
    None, "--actor", help="Who is acting (default: $SPEC_KITTY_ACTOR or your user name)."
)


def default_actor(actor: str | None) -> str:
    import getpass
    import os

    if actor and actor.strip():
        return actor.strip()
    env = os.environ.get("SPEC_KITTY_ACTOR", "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"


def parse_json_option(value: str | None, flag: str) -> dict | None:
    """A JSON object given on the command line; bad JSON is a usage error."""
    import json

    from spec_kitty.core.errors import UsageError

    if value is None:
        return None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag} is not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{flag} must be a JSON object")
    return data
