"""Command groups that import a subcommand's module only when it is invoked.

Help listings come from the static registry, so ``spec-kitty --help`` does not load
every command module either.

Hosted groups (``auth``, ``tracker``, ``issue-search``; ``sync`` later) are marked
``hosted=True``: while the rollout gate is off they are left out of help and completion,
and invoking one runs :func:`spec_kitty.cli.hosted.hosted_off.gate_off_command` instead of
importing the group, which prints the off message and exits 1 (0 for the subcommands
listed in ``off_ok``, e.g. ``sync now``). The gate is consulted on every lookup.
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
    hosted: bool = False
    off_ok: tuple[str, ...] = ()

    def gated_off(self) -> bool:
        """A hosted entry while the rollout gate is off (read afresh on every call)."""
        if not self.hosted:
            return False
        from spec_kitty.hosted.gate import is_enabled

        return not is_enabled()

    def shown(self) -> bool:
        return not self.hidden and not self.gated_off()


class LazyGroup(TyperGroup):
    registry: ClassVar[dict[str, Entry]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name, entry in self.registry.items() if entry.shown()] + [
            name for name in self.commands if name not in self.registry
        ]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = self.registry.get(cmd_name)
        if entry is None:
            return self.commands.get(cmd_name)
        if entry.gated_off():
            from spec_kitty.cli.hosted.hosted_off import gate_off_command

            return gate_off_command(cmd_name, entry.off_ok)
        target = getattr(importlib.import_module(entry.module), entry.attr)
        command = typer.main.get_command(target) if isinstance(target, typer.Typer) else target
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, entry.help) for name, entry in self.registry.items() if entry.shown()]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def command_app(**kwargs: Any) -> typer.Typer:
    """A typer app configured the same way for every command module."""
    kwargs.setdefault("rich_markup_mode", None)
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, **kwargs)
