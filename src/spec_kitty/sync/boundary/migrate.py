"""Legacy → scoped queue migration: every row moves, none is lost or duplicated.

An older CLI (and the published one when no auth scope could be resolved) queued events
in the unscoped ``<runtime>/queue.db`` (reference §1.1: table ``queue`` with ``id``,
``event_id`` UNIQUE, ``event_type``, ``data``, ``timestamp``, ``retry_count``, and
optionally ``coalesce_key``). Those rows belong to whoever is logged in now, so they move
into the current scope's queue (reference §1.3), in chunks of rows in ``id`` order:

1. ``INSERT … ON CONFLICT(event_id) DO NOTHING`` the chunk into the scoped queue (never
   the ``id``: rowids of two files collide) and **commit** it;
2. read back which of the chunk's ``event_id`` values the scoped queue now holds
   (queued, or already acknowledged by the hub);
3. ``DELETE`` exactly those from the legacy file and commit.

A crash (kill -9) anywhere leaves every row in the legacy file, the scoped file or
both; a re-run finds copied rows by key, so nothing is duplicated either. The scoped
queue's capacity is respected: rows that do not fit stay in the legacy file
(``left`` > 0) for the next run. Other tables of the legacy file (the published CLI's
``body_upload_queue``) are left alone: document bodies are pushed again from the
repository's files, keyed per scope (:mod:`spec_kitty.sync.documents`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.queue import BUSY_TIMEOUT_MS, EventQueue, QueueFull
from spec_kitty.sync.scope import SyncScope

CHUNK_ROWS = 500
_REQUIRED = {"event_id", "event_type", "data"}


def legacy_queue_path(paths: RuntimePaths) -> Path:
    """``<runtime>/queue.db``: the unscoped queue of older CLIs."""
    return paths.root / "queue.db"


@dataclass
class MigrationResult:
    """What one run did. ``left`` rows are still in the legacy file (capacity, error)."""

    legacy_path: str
    scoped_path: str | None
    moved: int = 0
    already_present: int = 0
    left: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"legacy_queue": self.legacy_path, "scoped_queue": self.scoped_path,
                "moved": self.moved, "already_present": self.already_present,
                "left": self.left, "error": self.error}


def _open_legacy(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def legacy_columns(conn: sqlite3.Connection) -> set[str]:
    """Columns of the legacy ``queue`` table (empty when the table is missing)."""
    return {str(row[1]) for row in conn.execute("PRAGMA table_info(queue)")}


def legacy_depth(paths: RuntimePaths) -> int | None:
    """Rows in the legacy queue, or None when there is no usable legacy queue.

    Opens the file read-only (never creates it). Raises nothing: an unreadable file
    counts as no legacy queue.
    """
    path = legacy_queue_path(paths)
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            if not legacy_columns(conn) >= _REQUIRED:
                return None
            return int(conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _present(dest: sqlite3.Connection, ids: list[str]) -> set[str]:
    marks = ",".join("?" * len(ids))
    found: set[str] = set()
    for table in ("queue", "acknowledged"):
        found.update(str(row[0]) for row in dest.execute(
            f"SELECT event_id FROM {table} WHERE event_id IN ({marks})", ids))
    return found


def migrate_legacy(paths: RuntimePaths, scope: SyncScope, *, max_size: int | None = None,
                   chunk_rows: int = CHUNK_ROWS) -> MigrationResult:
    """Move every legacy row into ``scope``'s queue (module docstring).

    Returns a :class:`MigrationResult`; ``error`` names a legacy file that is not a
    queue database. Raises :class:`sqlite3.Error` only for a scoped queue that cannot
    be written.
    """
    from spec_kitty.sync.settings import max_queue_size

    source_path = legacy_queue_path(paths)
    scoped = scope.queue_path(paths)
    result = MigrationResult(str(source_path), str(scoped))
    if not source_path.is_file():
        return result
    try:
        source = _open_legacy(source_path)
        columns = legacy_columns(source)
    except sqlite3.DatabaseError as exc:
        result.error = f"{source_path}: {exc}"
        return result
    try:
        if not columns:
            return result
        if not columns >= _REQUIRED:
            result.error = (f"{source_path}: table queue lacks "
                            f"{', '.join(sorted(_REQUIRED - columns))}")
            return result
        if source.execute("SELECT 1 FROM queue LIMIT 1").fetchone() is None:
            return result
        limit = max_size if max_size is not None else max_queue_size(paths)
        with EventQueue(scoped, limit) as queue:
            _move_all(source, queue, columns, chunk_rows, result)
        result.left = int(source.execute("SELECT COUNT(*) FROM queue").fetchone()[0])
    finally:
        source.close()
    return result


def _select(columns: set[str]) -> str:
    timestamp = "timestamp" if "timestamp" in columns else "CAST(strftime('%s','now') AS INT)"
    retries = "retry_count" if "retry_count" in columns else "0"
    coalesce = "coalesce_key" if "coalesce_key" in columns else "NULL"
    return (f"SELECT id, event_id, event_type, data, {timestamp}, COALESCE({retries}, 0), "
            f"{coalesce} FROM queue WHERE id > ? ORDER BY id LIMIT ?")


def _move_all(source: sqlite3.Connection, queue: EventQueue, columns: set[str],
              chunk_rows: int, result: MigrationResult) -> None:
    dest = queue.connection
    select = _select(columns)
    after = 0
    while rows := source.execute(select, (after, chunk_rows)).fetchall():
        after = int(rows[-1][0])
        ids = [str(row[1]) for row in rows]
        dest.execute("BEGIN IMMEDIATE")
        try:
            room = queue.max_size - queue.depth()
            known = _present(dest, ids)
            fresh = [row for row in rows if str(row[1]) not in known]
            if len(fresh) > room:
                raise QueueFull(queue.path, queue.depth(), queue.max_size, len(fresh))
            added = dest.executemany(
                "INSERT INTO queue (event_id, event_type, data, timestamp, retry_count, "
                "coalesce_key) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                [tuple(row[1:]) for row in fresh]).rowcount
            dest.execute("UPDATE queue_count SET n = n + ? WHERE id = 1", (added,))
        except BaseException as exc:
            dest.execute("ROLLBACK")
            if isinstance(exc, QueueFull):
                result.error = exc.message
                return
            raise
        dest.execute("COMMIT")
        # Confirm by key what the scoped queue holds *after* its commit; only those
        # rows leave the legacy file.
        confirmed = sorted(_present(dest, ids))
        result.moved += added
        result.already_present += len(rows) - len(fresh)
        if confirmed:
            marks = ",".join("?" * len(confirmed))
            source.execute("BEGIN IMMEDIATE")
            source.execute(f"DELETE FROM queue WHERE event_id IN ({marks})", confirmed)
            source.execute("COMMIT")
