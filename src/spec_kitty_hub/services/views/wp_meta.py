"""What the board knows from work-package files, read from the mission's dossier.

The hub has no checkout, only the documents a CLI pushed. The latest ``tasks.md`` names
each work package's dependencies, subtasks and prompt file; it is parsed with the CLI's
own parser (``spec_kitty.core.tasks_doc``), so the hub's cards show the same
dependencies (and whether each is satisfied) as the local dashboard.

Subtask *progress* is not synced (the CLI records subtask marks as annotations, which
are not sent to the hub), so cards carry no subtask roster here rather than a wrong
``0/N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty.core.tasks_doc import parse_tasks_doc
from spec_kitty_hub.db.sync_models import DossierDocument, Mission

TASKS_DOC = "tasks.md"


@dataclass(frozen=True)
class DossierWorkPackage:
    """One work package as ``spec_kitty.core.board.WorkPackageInfo`` wants it."""

    wp_id: str
    title: str
    file: str
    dependencies: Sequence[str] = ()
    subtasks: Sequence[str] = ()
    agent: str | None = None
    problem: str | None = None
    warnings: Sequence[str] = field(default_factory=tuple)


def work_packages(session: Session, mission: Mission) -> list[DossierWorkPackage]:
    """The work packages ``tasks.md`` lists (empty when it was never pushed)."""
    body = session.scalar(
        select(DossierDocument.content_body)
        .where(DossierDocument.mission_id == mission.id,
               DossierDocument.artifact_path == TASKS_DOC)
        .order_by(DossierDocument.id.desc()).limit(1))
    if not body:
        return []
    return [DossierWorkPackage(wp_id=section.wp_id, title=section.title,
                               file=section.prompt_path or TASKS_DOC,
                               dependencies=tuple(section.dependencies))
            for section in parse_tasks_doc(body.lstrip("\ufeff")).sections]
