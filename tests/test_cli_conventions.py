"""Every command follows the conventions in docs/commands.md; the registry is walked, so a
new command is checked without anyone remembering to add it here."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer

import spec_kitty.cli.compat  # noqa: F401  (keeps positional arguments' help)
from spec_kitty.cli.app import ROOT_COMMANDS, app
from spec_kitty.cli.lazy import LazyGroup

from helpers import parse_one_json, run_cli


def _walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...],
                                                                     click.Command, bool]]:
    if not isinstance(command, click.Group):
        return [(path, command, bool(command.hidden))]
    ctx = click.Context(command)
    names = list(command.registry) if isinstance(command, LazyGroup) else []
    names += [name for name in command.list_commands(ctx) if name not in names]
    found = []
    for name in names:
        hidden = isinstance(command, LazyGroup) and name in command.registry and \
            command.registry[name].hidden
        for sub_path, leaf, leaf_hidden in _walk(command.get_command(ctx, name),
                                                 (*path, name)):
            found.append((sub_path, leaf, hidden or leaf_hidden))
    return found


# Hosted groups (auth, ...) are walked with the rollout gate on, so their real commands are
# checked too; with the gate off they answer with the off message (tests/test_gate_off.py).
GATE_ON = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}
with pytest.MonkeyPatch.context() as _patch:
    _patch.setenv(*next(iter(GATE_ON.items())))
    LEAVES = _walk(typer.main.get_command(app), ())
VISIBLE = [(path, command) for path, command, hidden in LEAVES if not hidden]
IDS = [" ".join(path) for path, _ in VISIBLE]
HOSTED = {name for name, entry in ROOT_COMMANDS.items() if entry.hosted}


def _env(path: tuple[str, ...], home: Path) -> dict[str, str] | None:
    """Hosted commands run with the gate on and an empty HOME (no session, no config)."""
    return {**GATE_ON, "HOME": str(home)} if path[0] in HOSTED else None
# Options whose values form a fixed set, and one value outside it.
FIXED = {
    ("agent", "tasks", "move-task"): ("--to", "sideways"),
    ("agent", "tasks", "mark-status"): ("--status", "finished"),
    ("merge",): ("--strategy", "octopus"),
    ("agent", "mission", "create"): ("--mission-type", "poetry"),
    ("next",): ("--result", "maybe"),
    ("charter", "context"): ("--action", "dance"),
}
# Commands that succeed outside a project (everything else must refuse there with exit 1).
NO_PROJECT_NEEDED = {("mission", "types")}
# Well-formed arguments, so that running outside a project fails on the project alone.
SAMPLE_ARGS = {
    "move-task": ["WP01", "--to", "claimed"], "mark-status": ["T001"],
    "create": ["some-mission"], "context": ["--action", "plan"], "intake": ["brief.md"],
    "implement": ["WP01", "--agent", "claude"], "review": ["WP01", "--agent", "claude"],
    "next": ["--agent", "claude"],
    ("mission", "create"): ["--from-ticket", "github:#1"],
}


def test_the_walk_finds_every_command() -> None:
    assert len(VISIBLE) >= 25
    assert ("auth", "login") in [p for p, _ in VISIBLE]
    assert ("agent", "tasks", "move-task") in [p for p, _ in VISIBLE]
    assert all(path in [p for p, _ in VISIBLE] for path in FIXED)


@pytest.mark.parametrize(("path", "command"), VISIBLE, ids=IDS)
def test_help_describes_arguments_choices_and_examples(path: tuple[str, ...],
                                                       command: click.Command) -> None:
    for param in command.params:
        if isinstance(param, click.Argument):
            assert getattr(param, "help", None), f"{' '.join(path)}: {param.name} undescribed"
    if path in FIXED:
        flag = FIXED[path][0]
        option = next(p for p in command.params if flag in getattr(p, "opts", ()))
        assert isinstance(option.type, click.Choice), f"{flag} is not a choice"
    assert command.epilog and "Examples:" in command.epilog, f"{' '.join(path)}: no example"


@pytest.mark.parametrize("path", [p for p, _ in VISIBLE], ids=IDS)
def test_dash_h_is_help_everywhere(path: tuple[str, ...], tmp_path: Path) -> None:
    short = run_cli([*path, "-h"], tmp_path, env=_env(path, tmp_path))
    long = run_cli([*path, "--help"], tmp_path, env=_env(path, tmp_path))
    assert short.returncode == long.returncode == 0, short.stderr
    assert short.stdout == long.stdout and short.stdout.startswith("Usage:")
    assert "Examples:" in short.stdout


@pytest.mark.parametrize(("path", "command"), VISIBLE, ids=IDS)
def test_exit_codes_and_json_errors(path: tuple[str, ...], command: click.Command,
                                    tmp_path: Path) -> None:
    takes_json = any("--json" in getattr(p, "opts", ()) for p in command.params)
    env = _env(path, tmp_path)
    usage = run_cli([*path, "--no-such-flag", "--json"], tmp_path, env=env)
    assert usage.returncode == 2
    if takes_json:
        payload = parse_one_json(usage.stdout)
        assert payload["error_code"] == "USAGE_ERROR" and "no-such-flag" in payload["error"]
        if path in FIXED:
            flag, bad = FIXED[path]
            wrong = run_cli([*path, flag, bad, "--json"], tmp_path, env=env)
            assert wrong.returncode == 2
            error = parse_one_json(wrong.stdout)
            assert error["error_code"] == "USAGE_ERROR" and bad in error["error"]
        if path not in NO_PROJECT_NEEDED and path[0] not in HOSTED:
            args = [*path, *SAMPLE_ARGS.get(path, SAMPLE_ARGS.get(path[-1], []))]
            outside = run_cli([*args, "--json"], tmp_path)
            assert outside.returncode == 1, (args, outside.stdout, outside.stderr)
            failure = parse_one_json(outside.stdout)
            assert failure["error"] and failure["error_code"], failure
    assert "Traceback" not in usage.stderr


@pytest.mark.parametrize("option", ["--mission", "--actor", "--agent"])
def test_an_option_never_takes_the_next_flag_as_its_value(option: str, tmp_path: Path) -> None:
    args = {"--mission": ["agent", "tasks", "status"], "--actor": ["accept"],
            "--agent": ["next"]}[option]
    proc = run_cli([*args, option, "--json"], tmp_path)
    assert proc.returncode == 2
    payload = parse_one_json(proc.stdout)
    assert payload["error_code"] == "USAGE_ERROR" and "--json" in payload["error"]


def test_duplicated_choice_lists_match_their_services() -> None:
    from spec_kitty.cli.agent import agent_tasks
    from spec_kitty.cli.commands import charter_cmd, merge_cmd, next_cmd
    from spec_kitty.core.status.lanes import DISPLAY_LANE_VALUES
    from spec_kitty.services.execution import next_loop
    from spec_kitty.services.merge import preflight as merge_preflight
    from spec_kitty.services.planning import charter

    assert next_cmd.RESULTS == next_loop.RESULTS
    assert merge_cmd.STRATEGIES == merge_preflight.STRATEGIES
    assert charter_cmd.ACTIONS == charter.ACTIONS
    assert agent_tasks.LANE_CHOICES == DISPLAY_LANE_VALUES


def test_unknown_agent_keys_suggest_the_closest(tmp_path: Path) -> None:
    proc = run_cli(["init", ".", "--ai", "claud,cursr", "--json"], tmp_path)
    assert proc.returncode == 1
    payload = parse_one_json(proc.stdout)
    assert payload["error_code"] == "UNKNOWN_AGENT"
    assert payload["suggestions"] == {"claud": "claude", "cursr": "cursor"}
    assert "Did you mean 'claude'" in payload["error"]


def test_lane_aliases_still_work_on_the_command_line(initialized_repo: Path) -> None:
    from missions_fixture import make_mission

    make_mission(initialized_repo)
    moved = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "CLAIMED", "--json"],
                    initialized_repo)
    assert moved.returncode == 0 and parse_one_json(moved.stdout)["new_lane"] == "claimed"
    doing = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "doing", "--json"],
                    initialized_repo)
    assert doing.returncode == 0 and parse_one_json(doing.stdout)["new_lane"] == "in_progress"
