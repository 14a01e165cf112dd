"""Event sync: projects, missions, the append-only event store, the board projection,
dossier documents.

Revision ID: 0003_event_sync
Revises: 0002_tracker
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spec_kitty_hub.db.models import UTCDateTime
from spec_kitty_hub.db.sync_models import EventPk

revision = "0003_event_sync"
down_revision = "0002_tracker"
branch_labels = None
depends_on = None

_APPEND_ONLY = "sync_events is append-only"


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete=ondelete,
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("project_uuid", sa.String(64), nullable=False),
        sa.Column("slug", sa.String(200), nullable=True),
        sa.Column("repo_slug", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("projects", "team_id", "teams"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("team_id", "project_uuid", name="uq_projects_team_id_project_uuid"),
    )
    op.create_table(
        "missions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("mission_slug", sa.String(200), nullable=False),
        sa.Column("mission_id", sa.String(64), nullable=True),
        sa.Column("friendly_name", sa.String(300), nullable=True),
        sa.Column("mission_type", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("lane_counts", sa.Text(), nullable=False),
        sa.Column("last_event_id", sa.String(64), nullable=True),
        sa.Column("last_event_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("missions", "team_id", "teams"),
        _fk("missions", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missions")),
        sa.UniqueConstraint("project_id", "mission_slug",
                            name="uq_missions_project_id_mission_slug"),
    )
    op.create_index(op.f("ix_missions_team_id"), "missions", ["team_id"])
    op.create_table(
        "work_package_states",
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("wp_id", sa.String(64), nullable=False),
        sa.Column("lane", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("force_count", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.String(64), nullable=True),
        sa.Column("last_changed_at", UTCDateTime(), nullable=True),
        _fk("work_package_states", "mission_id", "missions"),
        sa.PrimaryKeyConstraint("mission_id", "wp_id", name=op.f("pk_work_package_states")),
    )
    op.create_table(
        "sync_events",
        sa.Column("id", EventPk, autoincrement=True, nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("aggregate_id", sa.String(200), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("mission_id", sa.Integer(), nullable=True),
        sa.Column("lamport_clock", sa.BigInteger(), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        _fk("sync_events", "team_id", "teams"),
        _fk("sync_events", "project_id", "projects"),
        _fk("sync_events", "mission_id", "missions"),
        _fk("sync_events", "sender_id", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_events")),
        sa.UniqueConstraint("team_id", "event_id", name="uq_sync_events_team_id_event_id"),
    )
    op.create_index(op.f("ix_sync_events_project_id"), "sync_events", ["project_id"])
    op.create_index("ix_sync_events_mission_id_occurred_at", "sync_events",
                    ["mission_id", "occurred_at"])
    op.create_table(
        "dossier_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("artifact_path", sa.String(500), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("hash_algorithm", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_body", sa.Text(), nullable=False),
        sa.Column("target_branch", sa.String(200), nullable=True),
        sa.Column("mission_type", sa.String(64), nullable=True),
        sa.Column("manifest_version", sa.String(32), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("dossier_documents", "mission_id", "missions"),
        _fk("dossier_documents", "uploaded_by", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_documents")),
        sa.UniqueConstraint("mission_id", "artifact_path", "content_hash",
                            name="uq_dossier_documents_mission_path_hash"),
    )
    _append_only_trigger()


def _append_only_trigger() -> None:
    """Refuse UPDATE of a stored event at the database, whatever code runs."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER sync_events_append_only BEFORE UPDATE ON sync_events "
                   f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")
        return
    op.execute("CREATE FUNCTION sync_events_append_only() RETURNS trigger "
               f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$")
    op.execute("CREATE TRIGGER sync_events_append_only BEFORE UPDATE ON sync_events "
               "FOR EACH ROW EXECUTE FUNCTION sync_events_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS sync_events_append_only ON sync_events")
        op.execute("DROP FUNCTION IF EXISTS sync_events_append_only()")
    op.drop_table("dossier_documents")
    op.drop_table("sync_events")
    op.drop_table("work_package_states")
    op.drop_table("missions")
    op.drop_table("projects")
