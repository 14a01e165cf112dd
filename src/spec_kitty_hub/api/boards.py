"""Team-scoped read API of synced data (bearer token; the team is in the path).

- ``GET /api/v1/teams/{team}/projects``
- ``GET /api/v1/teams/{team}/projects/{project_uuid}/missions``
- ``GET /api/v1/teams/{team}/projects/{project_uuid}/missions/{mission_slug}/board``
- ``GET …/missions/{mission_slug}/events?after=SEQ&limit=N`` (arrival order, paged)
- ``GET …/missions/{mission_slug}/documents``

A team the caller is not in, and a project or mission that is not the team's, answer
404 exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from spec_kitty_hub.api.deps import (
    ApiErrorBody,
    ApiProblem,
    DatabaseDep,
    PrincipalDep,
    require_team,
)
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.db.sync_models import Mission
from spec_kitty_hub.services import boards
from spec_kitty_hub.services.tokens import Principal
from spec_kitty_hub.services.views.mission import dossier_board

router = APIRouter(prefix="/api/v1/teams/{team}", tags=["boards"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiErrorBody, "description": "Missing, invalid or expired token"},
    404: {"model": ApiErrorBody, "description": "Not the caller's team, project or mission"},
}
MISSION = "/projects/{project_uuid}/missions/{mission_slug}"


class ProjectOut(BaseModel):
    project_uuid: str
    slug: str | None
    repo_slug: str | None
    created_at: str | None
    mission_count: int
    last_event_at: str | None


class MissionOut(BaseModel):
    mission_slug: str
    mission_id: str | None
    friendly_name: str | None
    mission_type: str | None
    state: str
    event_count: int
    by_lane: dict[str, int]
    progress: dict[str, Any]
    last_event_id: str | None
    last_event_at: str | None


class BoardOut(BaseModel):
    """The CLI board model's shape (columns, work_packages, by_lane, progress, …)."""

    mission: MissionOut
    columns: list[dict[str, Any]]
    work_packages: list[dict[str, Any]]
    by_lane: dict[str, int]
    progress: dict[str, Any]
    event_count: int
    last_event_id: str | None
    last_event_at: str | None
    problems: list[str]


class StoredEventOut(BaseModel):
    seq: int
    received_at: str | None
    envelope: dict[str, Any]


class EventPageOut(BaseModel):
    events: list[StoredEventOut]
    next_after: int | None


class DocumentOut(BaseModel):
    artifact_path: str
    content_hash: str
    size_bytes: int
    versions: int
    stored_at: str | None
    content_body: str


def _team_id(db: Database, principal: Principal, team: str) -> int:
    return require_team(db, principal, team)[0].id


def _mission(db: Database, principal: Principal, team: str, project_uuid: str,
             mission_slug: str) -> Mission:
    team_id = _team_id(db, principal, team)
    with db.read() as session:
        mission = boards.find_mission(session, team_id, project_uuid, mission_slug)
    if mission is None:
        raise ApiProblem(404, "mission_not_found",
                         f"No mission {mission_slug!r} in project {project_uuid!r}.")
    return mission


@router.get("/projects", response_model=list[ProjectOut], responses=RESPONSES)
def projects(team: str, principal: PrincipalDep, db: DatabaseDep) -> list[dict[str, Any]]:
    """The team's projects (repositories that synced events or documents)."""
    team_id = _team_id(db, principal, team)
    with db.read() as session:
        return boards.list_projects(session, team_id)


@router.get("/projects/{project_uuid}/missions", response_model=list[MissionOut],
            responses=RESPONSES)
def missions(team: str, project_uuid: str, principal: PrincipalDep,
             db: DatabaseDep) -> list[dict[str, Any]]:
    """The project's missions with lane counts, progress and last change."""
    team_id = _team_id(db, principal, team)
    with db.read() as session:
        project = boards.find_project(session, team_id, project_uuid)
        if project is None:
            raise ApiProblem(404, "project_not_found", f"No project {project_uuid!r}.")
        return boards.list_missions(session, team_id, project.id)


@router.get(MISSION + "/board", response_model=BoardOut, responses=RESPONSES)
def board(team: str, project_uuid: str, mission_slug: str, principal: PrincipalDep,
          db: DatabaseDep) -> dict[str, Any]:
    """The mission's board, as the CLI's board model shapes it (dependencies and subtask
    progress from the mission's pushed tasks.md and status.json)."""
    mission = _mission(db, principal, team, project_uuid, mission_slug)
    with db.read() as session:
        return dossier_board(session, mission)


@router.get(MISSION + "/events", response_model=EventPageOut, responses=RESPONSES)
def events(team: str, project_uuid: str, mission_slug: str, principal: PrincipalDep,
           db: DatabaseDep, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
           limit: Annotated[int, Query(ge=1, le=boards.MAX_PAGE)] = 100) -> dict[str, Any]:
    """The mission's stored events in arrival order, ``limit`` after ``after``."""
    mission = _mission(db, principal, team, project_uuid, mission_slug)
    with db.read() as session:
        return boards.mission_events(session, mission, after, limit)


@router.get(MISSION + "/documents", response_model=list[DocumentOut], responses=RESPONSES)
def documents(team: str, project_uuid: str, mission_slug: str, principal: PrincipalDep,
              db: DatabaseDep) -> list[dict[str, Any]]:
    """The latest body of each of the mission's pushed documents."""
    mission = _mission(db, principal, team, project_uuid, mission_slug)
    with db.read() as session:
        return boards.mission_documents(session, mission)
