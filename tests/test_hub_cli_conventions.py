"""The operator's commands follow the same help conventions as ``spec-kitty``
(docs/commands.md): ``-h`` is ``--help``, every command shows an example, and every
positional argument is described. The registry is walked, so a new command is checked
without anyone remembering to add it here."""

from __future__ import annotations

import subprocess

import click
import pytest
import typer

from hub_fixtures import HUB_BIN
from spec_kitty_hub.cli.main import app


def _walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...],
                                                                     click.Command]]:
    if not isinstance(command, click.Group):
        return [(path, command)]
    ctx = click.Context(command)
    found = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        assert sub is not None
        found += _walk(sub, (*path, name))
    return found


LEAVES = _walk(typer.main.get_command(app), ())
IDS = [" ".join(path) for path, _ in LEAVES]


def test_the_walk_finds_every_operator_command() -> None:
    paths = {path for path, _ in LEAVES}
    assert {("serve",), ("migrate",), ("user", "add"), ("team", "member", "add"),
            ("device", "approve"), ("tracker", "connect")} <= paths
    assert len(paths) >= 15


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=IDS)
def test_help_has_an_example_and_describes_every_argument(path: tuple[str, ...],
                                                          command: click.Command) -> None:
    short = subprocess.run([str(HUB_BIN), *path, "-h"], capture_output=True, text=True,
                           timeout=60)
    assert short.returncode == 0, short.stderr
    long = subprocess.run([str(HUB_BIN), *path, "--help"], capture_output=True, text=True,
                          timeout=60)
    assert short.stdout == long.stdout and short.stdout.startswith("Usage:")
    examples = short.stdout.split("Examples:", 1)
    assert len(examples) == 2, f"{' '.join(path)}: no example"
    assert f"spec-kitty-hub {' '.join(path)}" in examples[1]
    # click drops an argument's own help on this typer release; the summary names each one.
    summary = short.stdout.split("Arguments:", 1)[0].split("Options:", 1)[0]
    summary = summary.split("\n", 1)[1]  # past the usage line, which names them anyway
    for param in command.params:
        if isinstance(param, click.Argument):
            assert param.human_readable_name in summary, \
                f"{' '.join(path)}: {param.human_readable_name} undescribed"
