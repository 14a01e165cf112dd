"""The hub's tracker tables: provider connections, bindings, mappings, origins, jobs.

Every table carries ``team_id``; every query in :mod:`spec_kitty_hub.tracker` filters
on it. Secrets never appear in plain text: a connection's secret (token, API key) is a
Fernet token in ``secret_ciphertext`` (see :mod:`spec_kitty_hub.tracker.crypto`).

A *connection* is one provider resource a team admin connected (a GitHub repository,
a GitLab project, a Jira project, a Linear team). A *binding* ties a project (the
CLI's ``project_identity.uuid``) to a connection and is what ``binding_ref`` names.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spec_kitty_hub.db.models import Base, utcnow

JOB_STATUSES = ("pending", "running", "completed", "failed")


class TrackerConnection(Base):
    __tablename__ = "tracker_connections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str] = mapped_column(String(200))  # owner/repo, project, key, team key
    public_token: Mapped[str] = mapped_column(String(64), unique=True)  # the candidate token
    display_label: Mapped[str] = mapped_column(String(200))
    settings_json: Mapped[str] = mapped_column(Text)  # non-secret settings (JSON object)
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("team_id", "provider", "resource_id",
                                       name="uq_tracker_connections_team_resource"),)


class TrackerBinding(Base):
    __tablename__ = "tracker_bindings"
    binding_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         index=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("tracker_connections.id", ondelete="CASCADE"))
    project_uuid: Mapped[str] = mapped_column(String(64))
    project_slug: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(default=False)
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_pull_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (UniqueConstraint("connection_id", "project_uuid",
                                       name="uq_tracker_bindings_connection_project"),)


class TrackerMapping(Base):
    """A work package (mission **and** WP id) and the issue that stands for it."""

    __tablename__ = "tracker_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    binding_ref: Mapped[str] = mapped_column(
        ForeignKey("tracker_bindings.binding_ref", ondelete="CASCADE"))
    mission_slug: Mapped[str] = mapped_column(String(200))
    wp_id: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    external_key: Mapped[str | None] = mapped_column(String(200), default=None)
    external_url: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("binding_ref", "mission_slug", "wp_id",
                                       name="uq_tracker_mappings_binding_wp"),)


class TrackerMissionOrigin(Base):
    """The ticket a mission was created from (one per mission; re-binding it is a no-op)."""

    __tablename__ = "tracker_mission_origins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    mission_id: Mapped[str] = mapped_column(String(64))
    mission_slug: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(16))
    external_issue_id: Mapped[str] = mapped_column(String(200))
    external_issue_key: Mapped[str | None] = mapped_column(String(200), default=None)
    external_issue_url: Mapped[str | None] = mapped_column(Text, default=None)
    external_title: Mapped[str | None] = mapped_column(Text, default=None)
    external_status: Mapped[str | None] = mapped_column(String(64), default=None)
    binding_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("team_id", "mission_id",
                                       name="uq_tracker_mission_origins_team_mission"),)


class TrackerJob(Base):
    """A durable push/run operation (``operations/{id}``), claimed by one worker.

    ``attempt`` grows with every claim and fences a worker whose lease ran out: its
    late result is discarded. ``(team_id, idempotency_key)`` is unique, so a retried
    request finds the job it already created instead of making a second one.
    """

    __tablename__ = "tracker_jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    binding_ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # push | run
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    payload_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    result_json: Mapped[str | None] = mapped_column(Text, default=None)
    error_json: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    __table_args__ = (
        UniqueConstraint("team_id", "idempotency_key", name="uq_tracker_jobs_team_key"),
        Index("ix_tracker_jobs_status_created_at", "status", "created_at"),
    )
