"""The commands agents call in a loop, answered before typer is imported.

``agent tasks status … --json``, ``agent tasks move-task … --json`` and ``next … --json``
run on every step of an agent's loop; typer and click alone take about 80 ms to import on the CI machine class, more
than everything else these commands do with a warm snapshot cache (docs/performance.md).
When the arguments have the plain shape agents use (known options, each given a value
that does not start with ``-``, and ``--json``), they are parsed here and the same
service and the same JSON rendering run as under typer. Anything else (help, an unknown
or malformed option, human output, an unknown ``--result``) returns None and the typer
application answers, exactly as before. ``SPEC_KITTY_NO_FAST_PATH=1`` turns this off.

Whoever changes one of these commands changes its twin here too: tests/test_fast_path.py runs
every shape both ways and fails on any difference in output or exit code.
"""

from __future__ import annotations

import os
from typing import Any

OFF_ENV = "SPEC_KITTY_NO_FAST_PATH"
_MISSION = {"--mission": "mission", "-m": "mission"}
_NEXT = {**_MISSION, "--agent": "agent", "--result": "result", "--reason": "reason"}
_RESULTS = frozenset({"success", "failed", "blocked"})
_MOVE = {**_MISSION, "--to": "to", "--note": "note", "--reason": "reason",
         "--actor": "actor", "--agent": "agent", "--review-ref": "review_ref",
         "--evidence-json": "evidence_json", "--review-result-json": "review_result_json",
         "--review-feedback-file": "feedback_file"}


def _parse(args: list[str], spec: dict[str, str], flags: frozenset[str] = frozenset(),
           positional: str | None = None) -> dict[str, Any] | None:
    """Options as click would read them, or None for anything outside the plain shape.

    ``flags`` take no value; ``positional`` names the one argument the command takes.
    """
    values: dict[str, Any] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--json" or arg in flags:
            values[arg.lstrip("-")] = True
            index += 1
            continue
        if positional and not arg.startswith("-") and positional not in values:
            values[positional] = arg
            index += 1
            continue
        if arg.startswith("--") and "=" in arg:
            flag, value = arg.split("=", 1)
        elif arg in spec and index + 1 < len(args):
            flag, value = arg, args[index + 1]
            index += 1
        else:
            return None
        if flag not in spec or value.startswith("-"):
            return None
        values[spec[flag]] = value  # a repeated option: the last one wins, as in click
        index += 1
    if positional and positional not in values:
        return None
    return values if values.get("json") else None


def _tasks_status(opts: dict[str, Any]) -> int:
    """What ``cli.agent_tasks.tasks_status`` does with ``--json``."""
    from spec_kitty.cli.output import emit_json
    from spec_kitty.services.project.context import open_mission
    from spec_kitty.services.status.board import mission_board

    project, chosen = open_mission(opts.get("mission"))
    emit_json(mission_board(project, chosen))  # warnings and blocked folded in there
    return 0


def _next(opts: dict[str, Any]) -> int:
    """What ``cli.next_cmd.next_command`` does with ``--json``."""
    from spec_kitty.cli.output import emit_json
    from spec_kitty.services.execution.next_loop import next_step
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(opts.get("mission"))
    answer = next_step(project, chosen, opts.get("agent"), opts.get("result"),
                       opts.get("reason"))
    emit_json(answer)
    return 1 if answer["kind"] == "blocked" else 0


def _move_task(opts: dict[str, Any]) -> int:
    """What ``cli.agent.agent_tasks.move_task`` does with ``--json``."""
    from spec_kitty.cli.agent.move_args import MoveArgs, run_move
    from spec_kitty.cli.output import emit_json

    fields = {key: value for key, value in opts.items() if key != "json"}
    result, _slug = run_move(MoveArgs(**fields))
    emit_json(result)
    return 0


def _move_opts(args: list[str]) -> dict[str, Any] | None:
    """move-task's plain shape; a lane outside the choices is left to typer's error."""
    from spec_kitty.cli.agent.move_args import LANE_ALIASES, LANE_CHOICES

    opts = _parse(args, _MOVE, frozenset({"--force"}), positional="wp_id")
    if opts is None or "to" not in opts:
        return None
    opts["to"] = LANE_ALIASES.get(opts["to"], opts["to"])
    return opts if opts["to"] in LANE_CHOICES else None


def serve(args: list[str]) -> int | None:
    """The exit code after answering ``args`` here, or None to let typer answer."""
    if os.environ.get(OFF_ENV):
        return None
    if args[:3] == ["agent", "tasks", "status"]:
        opts, command = _parse(args[3:], _MISSION), _tasks_status
    elif args[:3] == ["agent", "tasks", "move-task"]:
        opts, command = _move_opts(args[3:]), _move_task
    elif args[:1] == ["next"]:
        opts, command = _parse(args[1:], _NEXT), _next
        if opts is not None and opts.get("result", "success") not in _RESULTS:
            return None
    else:
        return None
    if opts is None:
        return None
    from spec_kitty.cli.errors import guarded

    return guarded(lambda: command(opts), as_json=True)
