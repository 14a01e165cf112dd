"""A mission's page: its board (the one board model), documents, recent timeline, and a
work package's history across lanes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spec_kitty_hub.db.sync_models import DossierDocument, Mission, Project
from spec_kitty_hub.services.boards import find_mission, mission_board, mission_summary
from spec_kitty_hub.services.views import timeline, wp_meta
from spec_kitty_hub.services.views.live import mission_cursor
from spec_kitty_hub.services.views.teams import iso, project_name

TIMELINE_LIMIT = 100


def dossier_board(session: Session, mission: Mission) -> dict[str, Any]:
    """The board with dependencies and subtask progress from the dossier's tasks.md and
    status.json (see ``wp_meta``): what the pages and the bearer API both show."""
    marks = wp_meta.subtask_marks(session, mission)
    return mission_board(session, mission,
                         wp_meta.work_packages(session, mission, rosters=marks is not None),
                         marks or {})


def scoped_mission(session: Session, team_id: int, project_uuid: str,
                   mission_slug: str) -> tuple[Project, Mission] | None:
    """The team's project and mission, or None when either is not the team's."""
    mission = find_mission(session, team_id, project_uuid, mission_slug)
    if mission is None:
        return None
    project = session.get(Project, mission.project_id)
    assert project is not None and project.team_id == team_id
    return project, mission


def documents(session: Session, mission: Mission) -> list[dict[str, Any]]:
    """``[{artifact_path, versions, size_bytes, stored_at}]`` of the latest version of
    each path, by path (bodies are read one at a time by :func:`document`)."""
    latest = (select(DossierDocument.artifact_path, func.max(DossierDocument.id).label("id"),
                     func.count().label("versions"))
              .where(DossierDocument.mission_id == mission.id)
              .group_by(DossierDocument.artifact_path).subquery())
    rows = session.execute(
        select(latest.c.artifact_path, latest.c.versions, DossierDocument.size_bytes,
               DossierDocument.created_at)
        .join(DossierDocument, DossierDocument.id == latest.c.id)
        .order_by(latest.c.artifact_path))
    return [{"artifact_path": path, "versions": int(versions), "size_bytes": size,
             "stored_at": iso(at)} for path, versions, size, at in rows]


def document(session: Session, mission: Mission, path: str) -> dict[str, Any] | None:
    """The latest body of one document: ``{artifact_path, content_body, content_hash,
    size_bytes, stored_at}``, or None."""
    row = session.scalars(select(DossierDocument).where(
        DossierDocument.mission_id == mission.id, DossierDocument.artifact_path == path)
        .order_by(DossierDocument.id.desc()).limit(1)).first()
    if row is None:
        return None
    return {"artifact_path": row.artifact_path, "content_body": row.content_body,
            "content_hash": row.content_hash, "size_bytes": row.size_bytes,
            "stored_at": iso(row.created_at)}


def mission_page(session: Session, team_id: int, project_uuid: str,
                 mission_slug: str) -> dict[str, Any] | None:
    """``{project: {project_uuid, name, repo_slug}, board: mission_board(...),
    documents: [...], timeline: [entry] (newest first), older_before: seq|None (the
    older-events page's cursor), cursor: str}`` or None (``cursor``: see ``views.live``)."""
    found = scoped_mission(session, team_id, project_uuid, mission_slug)
    if found is None:
        return None
    project, mission = found
    return {"project": _project_json(project),
            "board": dossier_board(session, mission),
            "documents": documents(session, mission),
            **_timeline(session, mission),
            "cursor": mission_cursor(session, mission)}


def _project_json(project: Project) -> dict[str, Any]:
    return {"project_uuid": project.project_uuid, "name": project_name(project),
            "repo_slug": project.repo_slug}


def live_board(session: Session, team_id: int, project_uuid: str,
               mission_slug: str) -> dict[str, Any] | None:
    """What the open page re-renders on a change: ``{board, timeline, older_before,
    cursor}``."""
    found = scoped_mission(session, team_id, project_uuid, mission_slug)
    if found is None:
        return None
    _, mission = found
    return {"board": dossier_board(session, mission), **_timeline(session, mission),
            "cursor": mission_cursor(session, mission)}


def _timeline(session: Session, mission: Mission,
              before: int | None = None) -> dict[str, Any]:
    entries, older = timeline.page(session, mission, TIMELINE_LIMIT, before)
    return {"timeline": entries, "older_before": older}


def timeline_page(session: Session, team_id: int, project_uuid: str, mission_slug: str,
                  before: int | None) -> dict[str, Any] | None:
    """The older-events page: ``{project, mission (summary), timeline: [entry] newest
    first, older_before: seq|None}`` of the ``TIMELINE_LIMIT`` events below sequence
    ``before`` (the latest ones without it), or None when the mission is not the team's."""
    found = scoped_mission(session, team_id, project_uuid, mission_slug)
    if found is None:
        return None
    project, mission = found
    return {"project": _project_json(project),
            "mission": mission_summary(mission), **_timeline(session, mission, before)}


def work_package_page(session: Session, team_id: int, project_uuid: str, mission_slug: str,
                      wp_id: str) -> dict[str, Any] | None:
    """``{project, mission (summary), card (board card), history: [entry] oldest first}``,
    or None when the mission is not the team's or has no such work package."""
    found = scoped_mission(session, team_id, project_uuid, mission_slug)
    if found is None:
        return None
    project, mission = found
    board = dossier_board(session, mission)
    card = next((c for c in board["work_packages"] if c["id"] == wp_id), None)
    history = timeline.of_work_package(session, mission, wp_id)
    if card is None and not history:
        return None
    return {"project": _project_json(project),
            "mission": board["mission"], "card": card, "history": history}
