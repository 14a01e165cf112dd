"""What the board knows from work-package files, read from the mission's dossier.

The hub has no checkout, only the documents a CLI pushed. The latest ``tasks.md`` names
each work package's dependencies, subtasks and prompt file; it is parsed with the CLI's
own parser (``spec_kitty.core.tasks_doc``), so the hub's cards show the same
dependencies (and whether each is satisfied) as the local dashboard.

Subtask progress: ``agent tasks mark-status`` records marks as annotation rows in the
mission's log, which are not lane transitions and have no envelope of their own in the
sync contract. ``sync now`` pushes the mission's ``status.json`` (the CLI's reduced
snapshot, whose ``work_packages[wp].subtasks`` maps each marked T-id to its status)
with the other dossier documents; the board counts ``done`` marks against the roster
``tasks.md`` lists, as the local board does. Until a ``status.json`` arrives (the
published CLI does not push it) cards carry no roster rather than a wrong ``0/N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty.core.tasks_doc import parse_tasks_doc
from spec_kitty_hub.db.sync_models import DossierDocument, Mission

TASKS_DOC = "tasks.md"
STATUS_DOC = "status.json"


@dataclass(frozen=True)
class DossierWorkPackage:
    """One work package as ``spec_kitty.core.status.board.WorkPackageInfo`` wants it."""

    wp_id: str
    title: str
    file: str
    dependencies: Sequence[str] = ()
    subtasks: Sequence[str] = ()
    agent: str | None = None
    problem: str | None = None
    warnings: Sequence[str] = field(default_factory=tuple)


def _latest_body(session: Session, mission: Mission, path: str) -> str | None:
    return session.scalar(
        select(DossierDocument.content_body)
        .where(DossierDocument.mission_id == mission.id,
               DossierDocument.artifact_path == path)
        .order_by(DossierDocument.id.desc()).limit(1))


def subtask_marks(session: Session, mission: Mission) -> dict[str, dict[str, str]] | None:
    """``{wp_id: {task_id: status}}`` from the latest pushed ``status.json``, or None
    when none was pushed or it is not a snapshot (a malformed entry is left out, never
    guessed)."""
    body = _latest_body(session, mission, STATUS_DOC)
    if not body:
        return None
    try:
        snapshot = orjson.loads(body.lstrip("\ufeff"))  # orjson refuses a BOM
    except orjson.JSONDecodeError:
        return None
    states = snapshot.get("work_packages") if isinstance(snapshot, dict) else None
    if not isinstance(states, dict):
        return None
    marks: dict[str, dict[str, str]] = {}
    for wp_id, state in states.items():
        tasks = state.get("subtasks") if isinstance(state, dict) else None
        if isinstance(tasks, dict):
            marks[str(wp_id)] = {str(task): status for task, status in tasks.items()
                                 if isinstance(status, str)}
    return marks


def work_packages(session: Session, mission: Mission,
                  *, rosters: bool = False) -> list[DossierWorkPackage]:
    """The work packages ``tasks.md`` lists (empty when it was never pushed), with their
    subtask rosters when ``rosters`` (i.e. when the marks are known)."""
    body = _latest_body(session, mission, TASKS_DOC)
    if not body:
        return []
    return [DossierWorkPackage(wp_id=section.wp_id, title=section.title,
                               file=section.prompt_path or TASKS_DOC,
                               dependencies=tuple(section.dependencies),
                               subtasks=tuple(section.subtasks) if rosters else ())
            for section in parse_tasks_doc(body.lstrip("\ufeff")).sections]
