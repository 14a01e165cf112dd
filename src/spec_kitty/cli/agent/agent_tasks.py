"""``spec-kitty agent tasks``: move-task, status, mark-status."""

from __future__ import annotations

from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.agent.move_args import LANE_ALIASES, LANE_CHOICES, MoveArgs, run_move
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json
from spec_kitty.cli.values import default_actor

SUBTASK_STATES = ("done", "planned")

app = command_app(no_args_is_help=True,
                  help="Work-package moves and status.")

AGENT = typer.Option(None, "--agent", help="Your agent key (e.g. claude): recorded as the "
                     "actor unless --actor says otherwise.")


@app.command("move-task", epilog=options.examples(
    "spec-kitty agent tasks move-task WP01 --to for_review --mission todo-app --json",
    "spec-kitty agent tasks move-task WP01 --to approved --actor reviewer \\",
    "    --evidence-json '{\"review\": {\"reviewer\": \"reviewer\", \"verdict\": "
    "\"approved\", \"reference\": \"PR#1\"}}'"))
def move_task(
    wp_id: str = typer.Argument(..., help="Work package id, e.g. WP01 (wp1 and WP001 "
                                "name it too)."),
    to: str = typer.Option(..., "--to", click_type=options.choice(LANE_CHOICES, LANE_ALIASES),
                           help="Target lane."),
    mission: str = options.MISSION,
    note: str = typer.Option(None, "--note", help="A note recorded with the move."),
    force: bool = typer.Option(False, "--force", help="Bypass the state machine "
                               "(needs --reason)."),
    reason: str = typer.Option(None, "--reason", help="Why (required with --force)."),
    actor: str = options.ACTOR,
    agent: str = AGENT,
    review_ref: str = typer.Option(None, "--review-ref", help="Review that justifies the move."),
    evidence_json: str = typer.Option(
        None, "--evidence-json",
        help='Evidence object, e.g. {"review": {"reviewer": "r", "verdict": "approved", '
        '"reference": "PR#1"}}.'),
    review_result_json: str = typer.Option(None, "--review-result-json",
                                           help="Review result {reviewer, verdict, reference}."),
    feedback_file: str = typer.Option(None, "--review-feedback-file",
                                      help="Review feedback file (for a rejection)."),
    workspace_context: str = typer.Option(None, "--workspace-context", hidden=True),
    json_out: bool = options.JSON,
) -> None:
    """Move a work package to another lane (appends to the status event log)."""
    result, slug = run_move(MoveArgs(
        wp_id=wp_id, to=to, mission=mission, note=note, force=force, reason=reason,
        actor=actor, agent=agent, review_ref=review_ref, evidence_json=evidence_json,
        review_result_json=review_result_json, feedback_file=feedback_file,
        workspace_context=workspace_context))
    if json_out:
        emit_json(result)
        return
    from spec_kitty.cli.output import console

    if result["transition_applied"]:
        console().print(f"{result['wp_id']}: {result['old_lane']} → [bold]{result['new_lane']}"
                        f"[/bold] ({slug})")
    else:
        console().print(f"{result['wp_id']} is already {result['new_lane']}; nothing to do.")
    _warn_uncommitted(result)


def _warn_uncommitted(result: dict[str, Any]) -> None:
    """The event is recorded either way; say so when its commit could not be made."""
    commit = result.get("status_commit") or {}
    if commit.get("failed"):
        from spec_kitty.cli.output import warn

        warn(f"status files recorded but not committed: {commit.get('reason')}")


@app.command("status", epilog=options.examples(
    "spec-kitty agent tasks status --mission todo-app --json"))
def tasks_status(
    mission: str = options.MISSION,
    json_out: bool = options.JSON,
) -> None:
    """The board of one mission: every work package with its lane."""
    from spec_kitty.cli.render_board import show_board
    from spec_kitty.services.project.context import open_mission
    from spec_kitty.services.status.board import mission_board

    project, chosen = open_mission(mission)
    show_board(mission_board(project, chosen), json_out)


@app.command("mark-status", epilog=options.examples(
    "spec-kitty agent tasks mark-status T001 T002 --mission todo-app --json",
    "spec-kitty agent tasks mark-status T003 --status planned --mission todo-app"))
def mark_status(
    task_ids: list[str] = typer.Argument(..., help="Subtask ids, e.g. T001 T002."),
    status: str = typer.Option("done", "--status", click_type=options.choice(SUBTASK_STATES),
                               help="The subtasks' new state."),
    mission: str = options.MISSION,
    wp: str = options.value_option(None, "--wp", help="Work package, when the ids are not "
                                   "in a WP's subtasks list."),
    actor: str = options.ACTOR,
    agent: str = AGENT,
    json_out: bool = options.JSON,
) -> None:
    """Record subtask progress (an annotation event, like every status change)."""
    from spec_kitty.services.project.context import open_mission
    from spec_kitty.services.status.transitions import mark_subtasks

    project, chosen = open_mission(mission)
    result = mark_subtasks(project, chosen, task_ids, status,
                           default_actor(actor or agent), wp)
    if json_out:
        emit_json(result)
        return
    from spec_kitty.cli.output import console

    for wp_id, tasks in result["updated"].items():
        console().print(f"{wp_id}: {', '.join(tasks)} → {status}")
    _warn_uncommitted(result)
