"""Option declarations shared by several commands, so flags read the same everywhere.

Conventions (docs/commands.md, "Conventions"): ``-h`` is ``--help``; an option with a
fixed set of values is a :func:`choice` (a bad value is a usage error, exit 2); an
option that takes a value never swallows the next flag (``--mission --json`` is a usage
error, not a mission named ``--json``); main commands show examples in their help.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import click
import typer

HELP_OPTION_NAMES = ["-h", "--help"]
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": HELP_OPTION_NAMES}


_FLAG_RE = re.compile(r"^--?[A-Za-z][\w-]*$")


def _refuse_flags(ctx: Any, param: Any, value: Any) -> Any:
    """An option value that is itself an option name means the value was forgotten."""
    if isinstance(value, str) and _FLAG_RE.match(value):
        raise click.BadParameter(f"needs a value, but got the option {value!r}", ctx, param)
    return value


class Choice(click.Choice):  # type: ignore[type-arg]
    """A fixed set of values (case-insensitive), with aliases accepted on input."""

    def __init__(self, choices: Iterable[str], aliases: Mapping[str, str] | None = None,
                 ) -> None:
        super().__init__(list(choices), case_sensitive=False)
        self.aliases = dict(aliases or {})

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str):
            value = self.aliases.get(value.strip().lower(), value.strip())
        return super().convert(value, param, ctx)


def choice(values: Iterable[str], aliases: Mapping[str, str] | None = None) -> Choice:
    return Choice(values, aliases)


def examples(*lines: str) -> str:
    """A help epilog listing example invocations (kept verbatim, never re-wrapped)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def value_option(default: Any, *names: str, **kwargs: Any) -> Any:
    """``typer.Option`` for a value that must not be another flag."""
    return typer.Option(default, *names, callback=_refuse_flags, **kwargs)


JSON = typer.Option(False, "--json", help="Print exactly one JSON object on stdout.")
MISSION = value_option(
    None, "--mission", "-m",
    help="Mission slug, mission id, its first 8 characters, or a unique slug prefix.",
)
ACTOR = value_option(
    None, "--actor", help="Who is acting (default: $SPEC_KITTY_ACTOR or your user name)."
)
