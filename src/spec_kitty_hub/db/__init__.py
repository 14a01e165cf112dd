"""Persistence: SQLAlchemy models, the engine (SQLite WAL or PostgreSQL), migrations."""
