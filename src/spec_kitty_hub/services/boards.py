"""Team-scoped reads of synced data: projects, missions, boards, event history, documents.

Every function takes the caller's ``team_id`` (resolved from their membership by the
API layer) and filters on it first, so no query can reach another team's rows.

A board is the CLI's board: the projection is turned into a snapshot in status.json's
shape (``summary`` over ``spec_kitty.core.status.lanes.DISPLAY_LANE_VALUES``,
``work_packages`` {wp: {lane, actor, last_transition_at, last_event_id, force_count}})
and rendered by the one board model, ``spec_kitty.core.status.board.build_board``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spec_kitty.core.status.board import WorkPackageInfo, build_board
from spec_kitty.core.status.lanes import DISPLAY_LANE_VALUES
from spec_kitty.core.status.progress import progress
from spec_kitty_hub.db.sync_models import (
    DossierDocument,
    Mission,
    Project,
    SyncEvent,
    WorkPackageState,
)

MAX_PAGE = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def list_projects(session: Session, team_id: int) -> list[dict[str, Any]]:
    """The team's projects with their mission count and latest board change."""
    rows = session.execute(
        select(Project, func.count(Mission.id), func.max(Mission.last_event_at))
        .outerjoin(Mission, Mission.project_id == Project.id)
        .where(Project.team_id == team_id)
        .group_by(Project.id).order_by(Project.slug, Project.project_uuid))
    return [{"project_uuid": p.project_uuid, "slug": p.slug, "repo_slug": p.repo_slug,
             "created_at": _iso(p.created_at), "mission_count": int(count),
             "last_event_at": _iso(last)} for p, count, last in rows]


def find_project(session: Session, team_id: int, project_uuid: str) -> Project | None:
    return session.scalar(select(Project).where(Project.team_id == team_id,
                                                Project.project_uuid == project_uuid))


def find_mission(session: Session, team_id: int, project_uuid: str,
                 mission_slug: str) -> Mission | None:
    """The mission, or None when it (or its project) is not the team's."""
    return session.scalar(
        select(Mission).join(Project, Project.id == Mission.project_id)
        .where(Mission.team_id == team_id, Project.team_id == team_id,
               Project.project_uuid == project_uuid, Mission.mission_slug == mission_slug))


def _by_lane(mission: Mission) -> dict[str, int]:
    """Counts per display lane, as status.json's ``summary`` (a card not yet in a lane
    is on the board but in no count)."""
    counts: dict[str, int] = orjson.loads(mission.lane_counts)
    return {lane: counts.get(lane, 0) for lane in DISPLAY_LANE_VALUES}


def mission_summary(mission: Mission) -> dict[str, Any]:
    """One mission's row: identity, state, counts per lane, progress, last change."""
    by_lane = _by_lane(mission)
    return {"mission_slug": mission.mission_slug, "mission_id": mission.mission_id,
            "friendly_name": mission.friendly_name, "mission_type": mission.mission_type,
            "state": mission.state, "event_count": mission.event_count,
            "by_lane": by_lane, "progress": progress(by_lane),
            "last_event_id": mission.last_event_id,
            "last_event_at": _iso(mission.last_event_at)}


def list_missions(session: Session, team_id: int, project_id: int) -> list[dict[str, Any]]:
    missions = session.scalars(select(Mission).where(
        Mission.team_id == team_id, Mission.project_id == project_id)
        .order_by(Mission.mission_slug))
    return [mission_summary(mission) for mission in missions]


def snapshot(session: Session, mission: Mission
             ) -> tuple[dict[str, Any], dict[str, str], dict[str, dict[str, Any]]]:
    """The mission's board as a status.json-shaped snapshot, ``{wp_id: title}`` and the
    board model's ``blocked`` mapping (``{wp_id: {reason, actor, at}}`` of blocked cards)."""
    cards = session.scalars(select(WorkPackageState).where(
        WorkPackageState.mission_id == mission.id))
    states: dict[str, dict[str, Any]] = {}
    titles: dict[str, str] = {}
    blocked: dict[str, dict[str, Any]] = {}
    for card in cards:
        states[card.wp_id] = {
            "lane": card.lane,
            "actor": orjson.loads(card.actor) if card.actor else None,
            "last_transition_at": _iso(card.last_changed_at),
            "last_event_id": card.last_event_id, "force_count": card.force_count}
        if card.title:
            titles[card.wp_id] = card.title
        if card.lane == "blocked":
            blocked[card.wp_id] = {"reason": card.reason, "actor": states[card.wp_id]["actor"],
                                   "at": states[card.wp_id]["last_transition_at"]}
    by_lane = _by_lane(mission)
    return ({"mission_slug": mission.mission_slug,
             "materialized_at": _iso(mission.last_event_at) or "",
             "event_count": mission.event_count, "last_event_id": mission.last_event_id,
             "summary": by_lane,
             "work_packages": dict(sorted(states.items()))}, titles, blocked)


def mission_board(session: Session, mission: Mission,
                  work_packages: Iterable[WorkPackageInfo] = (),
                  subtasks: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """The board of ``mission`` in the CLI board model's shape, plus the mission row.

    ``work_packages``: what is known of the WP files (dependencies, subtask roster,
    prompt file); the titles synced with WPCreated win over theirs. ``subtasks``:
    ``{wp_id: {task_id: status}}`` marks (status.json's slot) for cards on the board."""
    snap, titles, blocked = snapshot(session, mission)
    for wp_id, marks in (subtasks or {}).items():
        if wp_id in snap["work_packages"]:
            snap["work_packages"][wp_id]["subtasks"] = dict(marks)
    board = build_board(snap, work_packages, blocked)
    for card in board["work_packages"]:
        card["title"] = titles.get(card["id"], card["title"])
    return {"mission": mission_summary(mission), **board}


def mission_events(session: Session, mission: Mission, after: int, limit: int
                   ) -> dict[str, Any]:
    """A page of the mission's stored events in arrival order: ``{"events":
    [{"seq", "received_at", "envelope"}], "next_after": seq|None}``."""
    rows = list(session.execute(
        select(SyncEvent.id, SyncEvent.received_at, SyncEvent.envelope)
        .where(SyncEvent.team_id == mission.team_id, SyncEvent.mission_id == mission.id,
               SyncEvent.id > after)
        .order_by(SyncEvent.id).limit(min(max(limit, 1), MAX_PAGE) + 1)))
    page = rows[:min(max(limit, 1), MAX_PAGE)]
    return {"events": [{"seq": seq, "received_at": _iso(received),
                        "envelope": orjson.loads(text)} for seq, received, text in page],
            "next_after": page[-1][0] if len(rows) > len(page) else None}


def mission_documents(session: Session, mission: Mission) -> list[dict[str, Any]]:
    """The latest version of each document path (metadata and body)."""
    rows = session.scalars(select(DossierDocument).where(
        DossierDocument.mission_id == mission.id)
        .order_by(DossierDocument.artifact_path, DossierDocument.id))
    latest: dict[str, DossierDocument] = {}
    versions: dict[str, int] = {}
    for document in rows:
        latest[document.artifact_path] = document
        versions[document.artifact_path] = versions.get(document.artifact_path, 0) + 1
    return [{"artifact_path": path, "content_hash": d.content_hash,
             "size_bytes": d.size_bytes, "versions": versions[path],
             "stored_at": _iso(d.created_at), "content_body": d.content_body}
            for path, d in latest.items()]
