"""The offline event queue: one SQLite file per auth scope, rows only while pending.

Layout (reference §1.1, plus what the reference's gaps call for)::

    queue         id (autoincrement, FIFO order), event_id UNIQUE, event_type,
                  data (the envelope JSON), timestamp (enqueue time, epoch seconds),
                  retry_count, coalesce_key, last_error
    queue_count   one row, kept exact in the same transaction as every insert and
                  delete (capacity checks never scan)
    acknowledged  event_id of every event the hub answered success/duplicate for
                  (``sync backfill`` skips them)
    failures      events dropped as permanent failures, with category and reason
                  (shown by ``sync status``; nothing disappears without a trace)
    meta          key/value: last sync time and summary

The database runs in WAL mode with a busy timeout, so emitters in many processes and a
drain can share it. A file SQLite reports as damaged is renamed ``*.damaged-<time>``
and a fresh queue started (``set_aside`` names it); ``sync backfill`` then re-queues
from the repository's logs whatever the hub has not acknowledged. Capacity is
enforced inside the inserting transaction: a full queue **refuses** (:class:`QueueFull`)
and never evicts. Result handling follows the reference table (§1.2): success,
duplicate and permanent failures delete the row;
rejected adds one to ``retry_count``; pending (and every whole-batch failure) leaves
the row untouched.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError

DEFAULT_MAX_QUEUE_SIZE = 100_000
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
_DELETE_PAGE = 500

# Outcomes of one event in one drain pass.
SUCCESS, DUPLICATE, REJECTED, PENDING, FAILED_PERMANENT = (
    "success", "duplicate", "rejected", "pending", "failed_permanent")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    retry_count INTEGER NOT NULL DEFAULT 0,
    coalesce_key TEXT,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS idx_timestamp ON queue(timestamp);
CREATE INDEX IF NOT EXISTS idx_retry ON queue(retry_count);
CREATE TABLE IF NOT EXISTS queue_count (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER);
INSERT OR IGNORE INTO queue_count VALUES (1, 0);
CREATE TABLE IF NOT EXISTS acknowledged (event_id TEXT PRIMARY KEY, acked_at INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failures (
    event_id TEXT PRIMARY KEY, event_type TEXT NOT NULL, category TEXT NOT NULL,
    reason TEXT NOT NULL, failed_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class QueueFull(SpecKittyError):
    """The queue is at capacity: nothing was queued (``QUEUE_FULL``), nothing evicted."""

    def __init__(self, path: Path, size: int, limit: int, offered: int) -> None:
        super().__init__(
            f"The sync queue {path} is full ({size} / {limit}); {offered} event(s) were "
            "not queued. They stay in the repository's status log.",
            "QUEUE_FULL", details={"queue": str(path), "depth": size, "max": limit},
            hint="Run `spec-kitty sync now` to drain it, then `spec-kitty sync backfill` "
            "to queue what was refused (or raise [sync] max_queue_size).")


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """A pending row: its envelope as parsed JSON, plus bookkeeping."""

    event_id: str
    event_type: str
    data: str  # the envelope's JSON text, as stored (and sent)
    retry_count: int

    @property
    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed

    @property
    def size(self) -> int:
        """Bytes of the envelope JSON (UTF-8)."""
        return len(self.data.encode())


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one drain pass decided for one event (``status`` is one of the constants)."""

    event_id: str
    status: str
    reason: str = ""
    category: str = ""


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int
    max_size: int
    oldest_timestamp: int | None
    retry_histogram: dict[str, int]
    top_event_types: list[tuple[str, int]]
    failures: int


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    # The queue is a delivery buffer that `sync backfill` rebuilds from the repository's
    # logs, so it does not pay for an fsync per status write (~10 ms each here): with
    # synchronous=OFF a killed process loses nothing; only an OS crash could lose rows
    # or damage the file, and a damaged file is set aside at open (see EventQueue).
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def _delete(conn: sqlite3.Connection, event_ids: Sequence[str]) -> int:
    """Delete the queue rows of ``event_ids`` (one statement per 500 ids, under SQLite's
    oldest limit of 999 parameters); returns how many rows existed."""
    deleted = 0
    for start in range(0, len(event_ids), _DELETE_PAGE):
        chunk = event_ids[start:start + _DELETE_PAGE]
        deleted += conn.execute(f"DELETE FROM queue WHERE event_id IN "
                                f"({','.join('?' * len(chunk))})", chunk).rowcount
    return deleted


class EventQueue:
    """One queue file. Open it, use it, :meth:`close` it (or use ``with``)."""

    def __init__(self, path: Path, max_size: int = DEFAULT_MAX_QUEUE_SIZE) -> None:
        self.path = path
        self.max_size = max_size
        try:
            self._conn = self._open(path)
        except sqlite3.DatabaseError as exc:
            if "malformed" not in str(exc) and "not a database" not in str(exc):
                raise
            damaged = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            path.rename(damaged)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            self.set_aside: Path | None = damaged
            self._conn = self._open(path)
        else:
            self.set_aside = None

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        conn = _connect(path)
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA
                               + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            path.chmod(0o600)
        return conn

    def __enter__(self) -> EventQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The autocommit connection, for tables kept next to the queue (documents)."""
        return self._conn

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def depth(self) -> int:
        """Pending rows (exact, O(1))."""
        row = self._conn.execute("SELECT n FROM queue_count WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def enqueue(self, envelopes: Sequence[Mapping[str, Any]]) -> int:
        """Queue ``envelopes`` in one transaction; returns how many rows were added.

        An ``event_id`` already queued is left as it is (same id, same event). Raises
        :class:`QueueFull` without queuing anything when the new rows would pass the
        capacity.
        """
        now = int(time.time())
        import orjson

        rows = [(env["event_id"], env["event_type"], orjson.dumps(env).decode(), now)
                for env in envelopes]
        with self._write() as conn:
            depth = self.depth()
            if depth + len(rows) > self.max_size:
                raise QueueFull(self.path, depth, self.max_size, len(rows))
            added = conn.executemany(
                "INSERT INTO queue (event_id, event_type, data, timestamp) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(event_id) DO NOTHING", rows).rowcount
            conn.execute("UPDATE queue_count SET n = n + ? WHERE id = 1", (added,))
            return added

    def peek(self, limit: int, after_id: int = 0) -> list[tuple[int, QueuedEvent]]:
        """Up to ``limit`` pending rows in FIFO order after row ``after_id``; non-destructive."""
        cursor = self._conn.execute(
            "SELECT id, event_id, event_type, data, retry_count FROM queue WHERE id > ? "
            "ORDER BY id LIMIT ?", (after_id, limit))
        return [(row_id, QueuedEvent(event_id, event_type, data, retries))
                for row_id, event_id, event_type, data, retries in cursor]

    def all_events(self) -> Iterator[QueuedEvent]:
        """Every pending row in FIFO order (streamed in pages of 1000)."""
        after = 0
        while page := self.peek(1000, after):
            for row_id, event in page:
                yield event
                after = row_id

    def apply(self, outcomes: Iterable[Outcome], events: Mapping[str, QueuedEvent]) -> None:
        """Apply one pass's outcomes in a single transaction (reference §1.2 table):
        a fixed handful of statements per batch, whatever its size."""
        now = int(time.time())
        done: list[str] = []
        failed: list[tuple[str, str, str, str, int, str]] = []
        rejected: list[tuple[str, str]] = []
        for outcome in outcomes:
            if outcome.status in (SUCCESS, DUPLICATE):
                done.append(outcome.event_id)
            elif outcome.status == FAILED_PERMANENT:
                event = events[outcome.event_id]
                failed.append((outcome.event_id, event.event_type, outcome.category,
                               outcome.reason, now, event.data))
            elif outcome.status == REJECTED:
                rejected.append((outcome.reason[:500], outcome.event_id))
        with self._write() as conn:
            conn.executemany("INSERT OR IGNORE INTO acknowledged VALUES (?, ?)",
                             [(event_id, now) for event_id in done])
            conn.executemany("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
                             failed)
            conn.executemany("UPDATE queue SET retry_count = retry_count + 1, "
                             "last_error = ? WHERE event_id = ?", rejected)
            deleted = _delete(conn, done + [row[0] for row in failed])
            conn.execute("UPDATE queue_count SET n = n - ? WHERE id = 1", (deleted,))

    def known_ids(self) -> set[str]:
        """Ids that are queued, acknowledged by the hub, or recorded as permanent failures."""
        ids: set[str] = set()
        for table in ("queue", "acknowledged", "failures"):
            ids.update(row[0] for row in self._conn.execute(f"SELECT event_id FROM {table}"))
        return ids

    def unknown_ids(self, event_ids: Sequence[str], *, queued_only: bool = False) -> set[str]:
        """Those of ``event_ids`` that are neither queued, acknowledged nor failed
        (with ``queued_only``: not queued)."""
        unknown = set(event_ids)
        tables = ("queue",) if queued_only else ("queue", "acknowledged", "failures")
        for start in range(0, len(event_ids), 500):
            chunk = list(event_ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for table in tables:
                unknown.difference_update(row[0] for row in self._conn.execute(
                    f"SELECT event_id FROM {table} WHERE event_id IN ({marks})", chunk))
        return unknown

    def failures(self) -> list[dict[str, Any]]:
        """Recorded permanent failures, newest first."""
        cursor = self._conn.execute("SELECT event_id, event_type, category, reason, failed_at "
                                    "FROM failures ORDER BY failed_at DESC, event_id")
        keys = ("event_id", "event_type", "category", "reason", "failed_at")
        return [dict(zip(keys, row, strict=True)) for row in cursor]

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def stats(self, top: int = 5) -> QueueStats:
        """Depth, oldest row, retry histogram (0 / 1-3 / 4+) and the top event types."""
        conn = self._conn
        oldest = conn.execute("SELECT MIN(timestamp) FROM queue").fetchone()[0]
        buckets = {"0 retries": 0, "1-3 retries": 0, "4+ retries": 0}
        for retries, count in conn.execute(
                "SELECT retry_count, COUNT(*) FROM queue GROUP BY retry_count"):
            key = "0 retries" if retries == 0 else "1-3 retries" if retries <= 3 else "4+ retries"
            buckets[key] += count
        types = [(str(t), int(n)) for t, n in conn.execute(
            "SELECT event_type, COUNT(*) AS n FROM queue GROUP BY event_type "
            "ORDER BY n DESC, event_type LIMIT ?", (top,))]
        failures = conn.execute("SELECT COUNT(*) FROM failures").fetchone()[0]
        return QueueStats(self.depth(), self.max_size, oldest, buckets, types, int(failures))
