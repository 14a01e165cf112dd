"""Option values shared by the typer commands and the fast path (no typer, no click)."""

from __future__ import annotations

from typing import Any


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


def parse_json_option(value: str | None, flag: str) -> dict[str, Any] | None:
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
