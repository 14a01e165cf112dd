"""``agent tasks move-task`` arguments → the move service, shared by typer and the fast path.

No typer or click here: :mod:`spec_kitty.cli.fast` answers the plain shape agents use
without importing them, and must build exactly the request the typer command builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec_kitty.core.status.lanes import DISPLAY_LANE_VALUES

LANE_CHOICES = DISPLAY_LANE_VALUES
LANE_ALIASES = {"doing": "in_progress"}


@dataclass(frozen=True)
class MoveArgs:
    """The command line of one move-task, as given (``to`` already a canonical lane)."""

    wp_id: str
    to: str
    mission: str | None = None
    note: str | None = None
    force: bool = False
    reason: str | None = None
    actor: str | None = None
    agent: str | None = None
    review_ref: str | None = None
    evidence_json: str | None = None
    review_result_json: str | None = None
    feedback_file: str | None = None
    workspace_context: str | None = None


def run_move(args: MoveArgs) -> tuple[dict[str, Any], str]:
    """Move the work package; returns (the service's result, the mission slug).

    Raises what the service raises (:class:`~spec_kitty.core.errors.SpecKittyError`),
    and ``UsageError`` for an option value that is not a JSON object.
    """
    from spec_kitty.cli.values import default_actor, parse_json_option
    from spec_kitty.services.project.context import open_mission
    from spec_kitty.services.status.transitions import MoveRequest, move_task

    request = MoveRequest(
        wp_id=args.wp_id,
        to_lane=args.to,
        actor=default_actor(args.actor or args.agent),
        force=args.force,
        reason=args.reason,
        note=args.note,
        review_ref=args.review_ref,
        evidence=parse_json_option(args.evidence_json, "--evidence-json"),
        review_result=parse_json_option(args.review_result_json, "--review-result-json"),
        feedback_file=args.feedback_file,
        workspace_context=args.workspace_context,
    )
    project, chosen = open_mission(args.mission)
    return move_task(project, chosen, request), chosen.slug
