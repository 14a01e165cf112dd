"""Trackers: provider connections (secrets encrypted), bindings, mappings, origins, jobs.

Revision ID: 0002_tracker
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spec_kitty_hub.db.models import UTCDateTime

revision = "0002_tracker"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"))


def upgrade() -> None:
    op.create_table(
        "tracker_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(200), nullable=False),
        sa.Column("public_token", sa.String(64), nullable=False),
        sa.Column("display_label", sa.String(200), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("tracker_connections", "team_id", "teams.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_connections")),
        sa.UniqueConstraint("public_token", name=op.f("uq_tracker_connections_public_token")),
        sa.UniqueConstraint("team_id", "provider", "resource_id",
                            name="uq_tracker_connections_team_resource"),
    )
    op.create_table(
        "tracker_bindings",
        sa.Column("binding_ref", sa.String(64), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("project_uuid", sa.String(64), nullable=False),
        sa.Column("project_slug", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("bound_at", UTCDateTime(), nullable=False),
        sa.Column("last_pull_at", UTCDateTime(), nullable=True),
        _fk("tracker_bindings", "team_id", "teams.id"),
        _fk("tracker_bindings", "connection_id", "tracker_connections.id"),
        sa.PrimaryKeyConstraint("binding_ref", name=op.f("pk_tracker_bindings")),
        sa.UniqueConstraint("connection_id", "project_uuid",
                            name="uq_tracker_bindings_connection_project"),
    )
    op.create_index(op.f("ix_tracker_bindings_team_id"), "tracker_bindings", ["team_id"])
    op.create_table(
        "tracker_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("binding_ref", sa.String(64), nullable=False),
        sa.Column("mission_slug", sa.String(200), nullable=False),
        sa.Column("wp_id", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("external_key", sa.String(200), nullable=True),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("tracker_mappings", "team_id", "teams.id"),
        _fk("tracker_mappings", "binding_ref", "tracker_bindings.binding_ref"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_mappings")),
        sa.UniqueConstraint("binding_ref", "mission_slug", "wp_id",
                            name="uq_tracker_mappings_binding_wp"),
    )
    op.create_table(
        "tracker_mission_origins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.String(64), nullable=False),
        sa.Column("mission_slug", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("external_issue_id", sa.String(200), nullable=False),
        sa.Column("external_issue_key", sa.String(200), nullable=True),
        sa.Column("external_issue_url", sa.Text(), nullable=True),
        sa.Column("external_title", sa.Text(), nullable=True),
        sa.Column("external_status", sa.String(64), nullable=True),
        sa.Column("binding_ref", sa.String(64), nullable=True),
        sa.Column("bound_at", UTCDateTime(), nullable=False),
        _fk("tracker_mission_origins", "team_id", "teams.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_mission_origins")),
        sa.UniqueConstraint("team_id", "mission_id",
                            name="uq_tracker_mission_origins_team_mission"),
    )
    op.create_table(
        "tracker_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("binding_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("error_json", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        _fk("tracker_jobs", "team_id", "teams.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_jobs")),
        sa.UniqueConstraint("team_id", "idempotency_key", name="uq_tracker_jobs_team_key"),
    )
    op.create_index("ix_tracker_jobs_status_created_at", "tracker_jobs",
                    ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tracker_jobs_status_created_at", table_name="tracker_jobs")
    op.drop_table("tracker_jobs")
    op.drop_table("tracker_mission_origins")
    op.drop_table("tracker_mappings")
    op.drop_index(op.f("ix_tracker_bindings_team_id"), table_name="tracker_bindings")
    op.drop_table("tracker_bindings")
    op.drop_table("tracker_connections")
