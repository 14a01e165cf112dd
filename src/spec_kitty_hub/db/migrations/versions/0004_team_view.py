"""Team view: index the event store by (mission, arrival sequence).

The live mission page polls the mission's latest sequence and shows its newest events;
with this index both are an index probe instead of a scan of the mission's events.

Revision ID: 0004_team_view
Revises: 0003_event_sync
"""

from __future__ import annotations

from alembic import op

revision = "0004_team_view"
down_revision = "0003_event_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_events_mission_id_id", "sync_events", ["mission_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_sync_events_mission_id_id", table_name="sync_events")
