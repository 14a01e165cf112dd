"""Command groups that import a subcommand's module only when it is invoked.

Help listings come from the static registry, so ``spec-kitty --help`` does not load
every command module either.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup


@dataclass(frozen=True)
class Entry:
    module: str
    help: str
    attr: str = "app"
    hidden: bool = False


class LazyGroup(TyperGroup):
    registry: ClassVar[dict[str, Entry]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name, entry in self.registry.items() if not entry.hidden] + [
            name for name in self.commands if name not in self.registry
        ]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = self.registry.get(cmd_name)
        if entry is None:
            return self.commands.get(cmd_name)
        target = getattr(importlib.import_module(entry.module), entry.attr)
        command = typer.main.get_command(target) if isinstance(target, typer.Typer) else target
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, entry.help) for name, entry in self.registry.items() if not entry.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def command_app(**kwargs: Any) -> typer.Typer:
    """A typer app configured the same way for every command module."""
    kwargs.setdefault("rich_markup_mode", None)
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, **kwargs)
