"""Store a batch of checked envelopes for one team, exactly once, and update the board.

One transaction per batch: projects and missions are upserted, the touched mission
rows locked, the events inserted with ``ON CONFLICT (team_id, event_id) DO NOTHING
RETURNING event_id`` in one statement, and only the events that statement inserted
folded into the projection (:mod:`spec_kitty_hub.services.projection`). Two workers
receiving the same event therefore store it once: the loser of the unique-index race
waits for the winner's commit and sees a conflict (``duplicate``). Locks are always
taken in one order (projects by uuid, missions by (project, slug), events by id), so
concurrent batches cannot deadlock on each other; PostgreSQL's deadlock and
serialization failures are retried anyway (:func:`ingest_batch`).

Per-event results (reference sync-subsystem.md §2.3): ``success`` (stored now),
``duplicate`` (already stored with the same content), ``rejected`` (the id is already
used by an event with different content: the CLI keeps it queued and shows it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import TextClause, select, text, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.db.models import utcnow
from spec_kitty_hub.db.sync_models import Mission, Project, SyncEvent
from spec_kitty_hub.services.envelopes import Envelope
from spec_kitty_hub.services.projection import apply_events

SUCCESS, DUPLICATE, REJECTED = "success", "duplicate", "rejected"
RETRIED_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
ATTEMPTS = 4


@dataclass(frozen=True)
class EventResult:
    """One entry of the batch response's ``results``."""

    event_id: str
    status: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"event_id": self.event_id, "status": self.status}
        if self.error:
            body["error"] = self.error
        return body


def identity_hash(envelope: Envelope) -> str:
    """SHA-256 of what makes an event itself: type, aggregate, project, occurrence time
    and payload. Re-sends that differ only in delivery metadata (Lamport clock, HEAD
    commit, team slug filled in later) are the same event."""
    core = {key: envelope.payload if key == "payload" else getattr(envelope, key)
            for key in ("event_type", "aggregate_id", "project_uuid", "payload")}
    core["occurred_at"] = envelope.occurred_at.isoformat()
    return hashlib.sha256(orjson.dumps(core, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _insert(session: Session) -> Callable[..., Any]:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


# PostgreSQL: one short statement whose only large parameter is the batch as one JSON
# array, unpacked by the server (json_to_recordset). The equivalent multi-row VALUES
# statement carries ~14 placeholders per event and psycopg re-parses such a long query
# text on every call; per-column array parameters are escaped element by element in
# Python. Both cost more than the rest of a 500-event batch's ingest together.
_PG_INSERT_EVENTS: TextClause = text("""
INSERT INTO sync_events (team_id, received_at, sender_id, event_id, event_type,
    aggregate_id, project_id, mission_id, lamport_clock, node_id, occurred_at,
    content_hash, envelope)
SELECT :team_id, :received_at, :sender_id, e.event_id, e.event_type, e.aggregate_id,
    e.project_id, e.mission_id, e.lamport_clock, e.node_id, e.occurred_at,
    e.content_hash, e.envelope
FROM json_to_recordset(CAST(:rows AS json)) AS e(event_id varchar, event_type varchar,
    aggregate_id varchar, project_id integer, mission_id integer, lamport_clock bigint,
    node_id varchar, occurred_at timestamptz, content_hash varchar, envelope text)
ORDER BY e.event_id
ON CONFLICT (team_id, event_id) DO NOTHING
RETURNING event_id""")


def insert_events(session: Session, team_id: int, sender_id: int,
                  rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Insert ``rows`` (the per-event columns of ``sync_events``), skipping ids the team
    already has; returns the ids inserted now. One statement on PostgreSQL; on SQLite
    SQLAlchemy renders the executemany as multi-row statements (its "insertmanyvalues"
    pages), in the same transaction."""
    if not rows:
        return set()
    received_at = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        params = {"team_id": team_id, "received_at": received_at, "sender_id": sender_id,
                  "rows": orjson.dumps(rows).decode()}
        return set(session.scalars(_PG_INSERT_EVENTS, params))
    full = [{**row, "team_id": team_id, "received_at": received_at, "sender_id": sender_id}
            for row in rows]
    return set(session.scalars(
        _insert(session)(SyncEvent).on_conflict_do_nothing(
            index_elements=["team_id", "event_id"]).returning(SyncEvent.event_id),
        full))


def upsert_projects(session: Session, team_id: int,
                    names: Mapping[str, tuple[str | None, str | None]]) -> dict[str, int]:
    """Create the team's projects ``names`` (``{project_uuid: (slug, repo_slug)}``) that
    do not exist, refresh known names, and return ``{project_uuid: id}``."""
    ordered = sorted(names)
    rows = [{"team_id": team_id, "project_uuid": uuid, "slug": names[uuid][0],
             "repo_slug": names[uuid][1], "created_at": utcnow()} for uuid in ordered]
    session.execute(_insert(session)(Project).on_conflict_do_nothing(
        index_elements=["team_id", "project_uuid"]), rows)
    found = session.scalars(select(Project).where(
        Project.team_id == team_id, Project.project_uuid.in_(ordered))
        .order_by(Project.project_uuid))
    ids = {}
    for project in found:
        slug, repo_slug = names[project.project_uuid]
        if slug and project.slug != slug:
            project.slug = slug
        if repo_slug and project.repo_slug != repo_slug:
            project.repo_slug = repo_slug
        ids[project.project_uuid] = project.id
    return ids


def lock_missions(session: Session, team_id: int,
                  keys: set[tuple[int, str]]) -> dict[tuple[int, str], Mission]:
    """Create the missions ``keys`` ((project id, slug)) that do not exist and lock all
    of them (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite writers are serialised)."""
    if not keys:
        return {}
    ordered = sorted(keys)
    now = utcnow()
    rows = [{"team_id": team_id, "project_id": project_id, "mission_slug": slug,
             "state": "active", "event_count": 0, "lane_counts": "{}", "created_at": now,
             "updated_at": now} for project_id, slug in ordered]
    session.execute(_insert(session)(Mission).on_conflict_do_nothing(
        index_elements=["project_id", "mission_slug"]), rows)
    found = session.scalars(
        select(Mission).where(tuple_(Mission.project_id, Mission.mission_slug).in_(ordered))
        .order_by(Mission.project_id, Mission.mission_slug).with_for_update())
    return {(mission.project_id, mission.mission_slug): mission for mission in found}


def _classify(session: Session, team_id: int, unstored: dict[str, Envelope]) -> list[EventResult]:
    if not unstored:
        return []
    rows = session.execute(select(SyncEvent.event_id, SyncEvent.content_hash).where(
        SyncEvent.team_id == team_id, SyncEvent.event_id.in_(sorted(unstored))))
    known = {event_id: content_hash for event_id, content_hash in rows}
    results = []
    for event_id, envelope in unstored.items():
        if known.get(event_id) == identity_hash(envelope):
            results.append(EventResult(event_id, DUPLICATE))
        else:
            results.append(EventResult(
                event_id, REJECTED, "event_id already used by an event with different content"))
    return results


def store_batch(session: Session, team_id: int, sender_id: int,
                envelopes: Sequence[Envelope]) -> list[EventResult]:
    """Store ``envelopes`` for ``team_id`` in ``session``'s transaction; one result per
    envelope, in order. A repeated id within the batch counts like a re-send."""
    first: dict[str, Envelope] = {}
    repeats: set[int] = set()
    for index, envelope in enumerate(envelopes):
        if envelope.event_id in first:
            repeats.add(index)
        else:
            first[envelope.event_id] = envelope
    projects = upsert_projects(session, team_id, {
        e.project_uuid: (e.project_slug, e.repo_slug) for e in first.values()})
    mission_keys = {(projects[e.project_uuid], e.mission_slug or "")
                    for e in first.values() if e.mission_slug}
    missions = lock_missions(session, team_id, mission_keys)
    mission_of: dict[str, int | None] = {}
    rows = []
    for event_id in sorted(first):
        envelope = first[event_id]
        project_id = projects[envelope.project_uuid]
        mission = missions.get((project_id, envelope.mission_slug or ""))
        mission_of[event_id] = mission.id if mission is not None else None
        rows.append({
            "event_id": event_id, "event_type": envelope.event_type[:100],
            "aggregate_id": envelope.aggregate_id, "project_id": project_id,
            "mission_id": mission_of[event_id], "lamport_clock": envelope.lamport_clock,
            "node_id": envelope.node_id, "occurred_at": envelope.occurred_at,
            "content_hash": identity_hash(envelope), "envelope": envelope.text})
    inserted = insert_events(session, team_id, sender_id, rows)
    by_id = {e.event_id: e for e in first.values()}
    results = {r.event_id: r for r in _classify(
        session, team_id, {i: e for i, e in by_id.items() if i not in inserted})}
    results.update({i: EventResult(i, SUCCESS) for i in inserted})
    apply_events(session, {m.id: m for m in missions.values()},
                 [(mission_of[i], by_id[i]) for i in inserted], _insert(session))
    answer = []
    for index, envelope in enumerate(envelopes):
        result = results[envelope.event_id]
        if index in repeats:
            same = identity_hash(envelope) == identity_hash(first[envelope.event_id])
            result = EventResult(envelope.event_id, DUPLICATE) if same else EventResult(
                envelope.event_id, REJECTED, "event_id repeated in the batch with other content")
        answer.append(result)
    return answer


def _retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRIED_SQLSTATES


def ingest_batch(db: Database, team_id: int, sender_id: int,
                 envelopes: Sequence[Envelope]) -> list[EventResult]:
    """:func:`store_batch` in its own write transaction, retried (up to 4 attempts) on a
    PostgreSQL deadlock or serialization failure. Other database errors propagate."""
    for attempt in range(ATTEMPTS):
        try:
            with db.write() as session:
                return store_batch(session, team_id, sender_id, envelopes)
        except DBAPIError as error:
            if attempt + 1 == ATTEMPTS or not _retryable(error):
                raise
    raise AssertionError("unreachable")


