"""Alembic environment: the engine comes from ``spec_kitty_hub.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from spec_kitty_hub.db import (
    sync_models,  # noqa: F401  (registers the sync tables)
    tracker_tables,  # noqa: F401 - registers the tracker tables
)
from spec_kitty_hub.db.models import Base

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
