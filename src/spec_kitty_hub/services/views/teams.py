"""The teams page and a team's projects: repository, last activity, missions in flight.

A mission is *in flight* while it is active (neither accepted nor merged) and has a
work package that is not done or canceled. "Last activity" is the latest lane
transition (occurrence time) of any of the project's missions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spec_kitty.core.status.board import column_counts
from spec_kitty.core.status.progress import progress
from spec_kitty_hub.db.models import Membership, Team
from spec_kitty_hub.db.sync_models import Mission, Project

FINISHED_LANES = frozenset({"done", "canceled"})
RECENT = 3  # in-flight missions named on a project's tile, most recently active first


def iso(value: datetime | None) -> str | None:
    """``2026-11-01T09:00:00Z`` (UTC), or None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def in_flight(state: str, lane_counts: Mapping[str, int]) -> bool:
    """Whether a mission still has work going on (see the module docstring)."""
    return state == "active" and any(
        count for lane, count in lane_counts.items() if lane not in FINISHED_LANES)


def project_name(project: Project) -> str:
    """What a person calls the project: its slug, else its repository, else its uuid."""
    return project.slug or project.repo_slug or project.project_uuid[:8]


def user_teams(session: Session, user_id: int) -> list[dict[str, Any]]:
    """The user's teams with project and in-flight mission counts and last activity:
    ``[{slug, name, role, private, projects, missions, in_flight, last_activity}]``."""
    teams = session.execute(
        select(Team.id, Team.slug, Team.name, Membership.role, Team.is_private_teamspace)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user_id)
        .order_by(Team.is_private_teamspace.desc(), Team.name, Team.slug)).all()
    ids = [row[0] for row in teams]
    projects = dict(session.execute(
        select(Project.team_id, func.count(Project.id))
        .where(Project.team_id.in_(ids)).group_by(Project.team_id)).all()) if ids else {}
    stats: dict[int, dict[str, Any]] = {}
    if ids:
        rows = session.execute(select(Mission.team_id, Mission.state, Mission.lane_counts,
                                      Mission.last_event_at)
                               .where(Mission.team_id.in_(ids)))
        for team_id, state, counts, last in rows:
            entry = stats.setdefault(team_id, {"missions": 0, "in_flight": 0, "last": None})
            entry["missions"] += 1
            entry["in_flight"] += in_flight(state, orjson.loads(counts))
            if last is not None and (entry["last"] is None or last > entry["last"]):
                entry["last"] = last
    result = []
    for team_id, slug, name, role, private in teams:
        entry = stats.get(team_id, {"missions": 0, "in_flight": 0, "last": None})
        result.append({"slug": slug, "name": name, "role": role, "private": bool(private),
                       "projects": int(projects.get(team_id, 0)),
                       "missions": entry["missions"], "in_flight": entry["in_flight"],
                       "last_activity": iso(entry["last"])})
    return result


def team_projects(session: Session, team_id: int) -> list[dict[str, Any]]:
    """The team's projects, most recently active first:
    ``[{project_uuid, name, repo_slug, missions, in_flight, last_activity, by_column,
    progress, recent_in_flight: [{mission_slug, name}]}]`` (``by_column``/``progress``
    over the in-flight missions' cards)."""
    projects = {p.id: p for p in session.scalars(
        select(Project).where(Project.team_id == team_id))}
    rows = session.execute(select(Mission.project_id, Mission.state, Mission.lane_counts,
                                  Mission.last_event_at, Mission.mission_slug,
                                  Mission.friendly_name)
                           .where(Mission.team_id == team_id))
    stats: dict[int, dict[str, Any]] = {
        pid: {"missions": 0, "in_flight": 0, "last": None, "lanes": {}, "flying": []}
        for pid in projects}
    for project_id, state, counts, last, slug, name in rows:
        entry = stats.get(project_id)
        if entry is None:
            continue
        lane_counts: dict[str, int] = orjson.loads(counts)
        entry["missions"] += 1
        if in_flight(state, lane_counts):
            entry["in_flight"] += 1
            entry["flying"].append((iso(last) or "", slug, name or slug))
            for lane, count in lane_counts.items():
                entry["lanes"][lane] = entry["lanes"].get(lane, 0) + count
        if last is not None and (entry["last"] is None or last > entry["last"]):
            entry["last"] = last
    result = []
    for project_id, project in projects.items():
        entry = stats[project_id]
        result.append({"project_uuid": project.project_uuid, "name": project_name(project),
                       "repo_slug": project.repo_slug, "missions": entry["missions"],
                       "in_flight": entry["in_flight"], "last_activity": iso(entry["last"]),
                       "by_column": column_counts(entry["lanes"]),
                       "progress": progress(entry["lanes"]),
                       "recent_in_flight": [{"mission_slug": slug, "name": name}
                                            for _, slug, name in sorted(
                                                entry["flying"], reverse=True)[:RECENT]]})
    # Most recent first, never-active projects last; ties by name (stable sorts).
    result.sort(key=lambda p: p["name"])
    result.sort(key=lambda p: p["last_activity"] or "", reverse=True)
    return result
