"""Event-sync tables: projects, missions, the append-only event store, the board
projection and dossier documents.

Every table carries ``team_id`` (directly or through its mission), and every query in
``services/`` starts from the caller's team.

- ``sync_events`` is append-only (a trigger refuses UPDATE on both backends) and
  unique on ``(team_id, event_id)``: the database, not the application, is what makes
  a second copy of an event impossible, whichever worker receives it. Uniqueness is
  per team so that one team can neither block nor probe another team's event ids.
- ``work_package_states`` is the board: one row per work package of a mission, the
  lane of its latest transition in replay order ``(occurred_at, event_id)`` (the order
  ``spec_kitty.core.status.reducer`` folds a log in). ``missions.lane_counts`` caches the
  per-lane counts of those rows; both are written in the transaction that inserts the
  events.
- ``dossier_documents`` keeps each pushed body once per (mission, path, content hash).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spec_kitty_hub.db.models import Base, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
EventPk = BigInteger().with_variant(Integer(), "sqlite")


class Project(Base):
    """A repository as a team sees it, identified by the CLI's ``project_uuid``."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    project_uuid: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str | None] = mapped_column(String(200), default=None)
    repo_slug: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("team_id", "project_uuid",
                                       name="uq_projects_team_id_project_uuid"),)


class Mission(Base):
    """One mission of a project and its board summary.

    ``lane_counts`` is JSON ``{lane: n}`` over the mission's work packages;
    ``event_count`` counts lane transitions (WPStatusChanged) stored for it;
    ``last_event_id``/``last_event_at`` are the latest transition in replay order.
    ``state`` is ``active``, ``accepted`` or ``merged``.
    """

    __tablename__ = "missions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    mission_slug: Mapped[str] = mapped_column(String(200))
    mission_id: Mapped[str | None] = mapped_column(String(64), default=None)
    friendly_name: Mapped[str | None] = mapped_column(String(300), default=None)
    mission_type: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[str] = mapped_column(String(16), default="active")
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    lane_counts: Mapped[str] = mapped_column(Text, default="{}")
    last_event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    last_event_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("project_id", "mission_slug",
                                       name="uq_missions_project_id_mission_slug"),)


class WorkPackageState(Base):
    """One card of a mission's board: the lane of its latest transition."""

    __tablename__ = "work_package_states"
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id", ondelete="CASCADE"),
                                            primary_key=True)
    wp_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lane: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(300), default=None)
    actor: Mapped[str | None] = mapped_column(Text, default=None)  # JSON
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # of the latest move
    force_count: Mapped[int] = mapped_column(Integer, default=0)
    last_event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    last_changed_at: Mapped[datetime | None] = mapped_column(default=None)


class SyncEvent(Base):
    """One received envelope, stored verbatim (``envelope`` is its JSON text).

    ``occurred_at`` is the envelope's ``timestamp`` (occurrence time); the hub's own
    receipt time is ``received_at``. ``content_hash`` is the SHA-256 of the canonical
    JSON of the envelope: a re-send with the same id and hash is a duplicate, the same
    id with other content is rejected.
    """

    __tablename__ = "sync_events"
    id: Mapped[int] = mapped_column(EventPk, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(100))
    aggregate_id: Mapped[str] = mapped_column(String(200))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None, index=True)
    mission_id: Mapped[int | None] = mapped_column(
        ForeignKey("missions.id", ondelete="CASCADE"), default=None)
    lamport_clock: Mapped[int] = mapped_column(BigInteger)
    node_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    content_hash: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("team_id", "event_id", name="uq_sync_events_team_id_event_id"),
        Index("ix_sync_events_mission_id_occurred_at", "mission_id", "occurred_at"),
        # The live page's cursor and newest events (migration 0004_team_view).
        Index("ix_sync_events_mission_id_id", "mission_id", "id"),
    )


class DossierDocument(Base):
    """A mission document body (spec, plan, tasks, WP file…) as pushed by a CLI."""

    __tablename__ = "dossier_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id", ondelete="CASCADE"))
    artifact_path: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    hash_algorithm: Mapped[str] = mapped_column(String(16), default="sha256")
    size_bytes: Mapped[int] = mapped_column(Integer)
    content_body: Mapped[str] = mapped_column(Text)
    target_branch: Mapped[str | None] = mapped_column(String(200), default=None)
    mission_type: Mapped[str | None] = mapped_column(String(64), default=None)
    manifest_version: Mapped[str | None] = mapped_column(String(32), default=None)
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("mission_id", "artifact_path", "content_hash",
                                       name="uq_dossier_documents_mission_path_hash"),)
