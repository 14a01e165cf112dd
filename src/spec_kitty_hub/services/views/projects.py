"""A project's page: its missions, in flight first, each with lane counts and progress."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty.core.status.board import column_counts
from spec_kitty_hub.db.sync_models import Mission, Project
from spec_kitty_hub.services.boards import find_project, mission_summary
from spec_kitty_hub.services.views.teams import in_flight, iso, project_name


def project_page(session: Session, team_id: int, project_uuid: str) -> dict[str, Any] | None:
    """``{project: {project_uuid, name, repo_slug, created_at}, missions: [mission_summary
    + {in_flight, by_column}]}``, or None when the project is not the team's."""
    project: Project | None = find_project(session, team_id, project_uuid)
    if project is None:
        return None
    missions = []
    for mission in session.scalars(select(Mission).where(
            Mission.team_id == team_id, Mission.project_id == project.id)):
        row = mission_summary(mission)
        row["in_flight"] = in_flight(mission.state, orjson.loads(mission.lane_counts))
        row["by_column"] = column_counts(row["by_lane"])
        missions.append(row)
    missions.sort(key=lambda m: m["mission_slug"])
    missions.sort(key=lambda m: m["last_event_at"] or "", reverse=True)
    missions.sort(key=lambda m: not m["in_flight"])
    return {"project": {"project_uuid": project.project_uuid, "name": project_name(project),
                        "repo_slug": project.repo_slug, "created_at": iso(project.created_at)},
            "missions": missions}
