"""The SQLite cache behind a local tracker binding.

One database per binding at ``<runtime root>/trackers/<scope>.db`` (runtime root:
``SPEC_KITTY_HOME`` or ``~/.spec-kitty``; scope: first 16 hex digits of the sha256 of
``provider|workspace|project uuid``, so editing credentials never orphans a cache).

Tables: ``tracker_issues`` (canonical issues keyed ``system:workspace:id``),
``tracker_checkpoints`` (``provider:workspace`` → cursor, updated_since),
``tracker_mappings`` (keyed by mission AND work package and system: ``WP01`` exists in
every mission) and ``tracker_conflicts`` (every conflict a sync resolved).

Crash safety: WAL journal with ``synchronous=FULL``; callers group a pull or push in
:meth:`TrackerStore.transaction`, so a killed process leaves the previous state or the
whole new one, never half of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spec_kitty.core.tracker.merge import ConflictRecord
from spec_kitty.core.tracker.models import CanonicalIssue, ExternalRef

SCHEMA = """
CREATE TABLE IF NOT EXISTS tracker_issues (
    identity TEXT PRIMARY KEY,
    system TEXT NOT NULL,
    workspace TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS tracker_checkpoints (
    checkpoint_key TEXT PRIMARY KEY,
    cursor TEXT,
    updated_since TEXT
);
CREATE TABLE IF NOT EXISTS tracker_mappings (
    mission_slug TEXT NOT NULL,
    wp_id TEXT NOT NULL,
    system TEXT NOT NULL,
    workspace TEXT NOT NULL,
    external_id TEXT NOT NULL,
    external_key TEXT,
    external_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (mission_slug, wp_id, system),
    UNIQUE (system, workspace, external_id)
);
CREATE TABLE IF NOT EXISTS tracker_conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity TEXT NOT NULL,
    field_name TEXT NOT NULL,
    local_value TEXT,
    external_value TEXT,
    resolved_value TEXT,
    strategy TEXT NOT NULL,
    manual_review_required INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
"""


def runtime_root() -> Path:
    """``SPEC_KITTY_HOME`` or ``~/.spec-kitty`` (the hosted layer's runtime root)."""
    configured = os.environ.get("SPEC_KITTY_HOME")
    return Path(configured) if configured else Path.home() / ".spec-kitty"


def cache_path(provider: str, workspace: str, project_uuid: str) -> Path:
    scope = hashlib.sha256(f"{provider}|{workspace}|{project_uuid}".lower().encode()).hexdigest()[
        :16
    ]
    return runtime_root() / "trackers" / f"{scope}.db"


@dataclass(frozen=True)
class WorkPackageMapping:
    mission_slug: str
    wp_id: str
    system: str
    workspace: str
    external_id: str
    external_key: str | None
    external_url: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mission_slug": self.mission_slug,
            "wp_id": self.wp_id,
            "system": self.system,
            "workspace": self.workspace,
            "external_id": self.external_id,
            "external_key": self.external_key,
            "external_url": self.external_url,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat()


class TrackerStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._depth = 0

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together (nesting joins the outer transaction)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- issues ------------------------------------------------------------------
    def upsert_issue(self, issue: CanonicalIssue) -> None:
        ref = issue.ref
        self._db.execute(
            "INSERT INTO tracker_issues"
            " (identity, system, workspace, issue_id, payload, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(identity) DO UPDATE SET"
            " payload = excluded.payload, updated_at = excluded.updated_at",
            (
                ref.identity,
                ref.system,
                ref.workspace,
                ref.id,
                json.dumps(issue.to_dict(), sort_keys=True),
                issue.updated_at.isoformat() if issue.updated_at else None,
            ),
        )

    def get_issue(self, identity: str) -> CanonicalIssue | None:
        row = self._db.execute(
            "SELECT payload FROM tracker_issues WHERE identity = ?", (identity,)
        ).fetchone()
        return CanonicalIssue.from_dict(json.loads(row[0])) if row else None

    def issues(self, system: str, workspace: str) -> list[CanonicalIssue]:
        rows = self._db.execute(
            "SELECT payload FROM tracker_issues WHERE system = ? AND workspace = ?"
            " ORDER BY identity",
            (system, workspace),
        ).fetchall()
        return [CanonicalIssue.from_dict(json.loads(row[0])) for row in rows]

    def count_issues(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM tracker_issues").fetchone()[0])

    def add_local_draft(
        self, system: str, workspace: str, title: str, **fields: Any
    ) -> CanonicalIssue:
        """An issue we hold but the tool does not have yet (id ``local-…``); a push
        creates it when the binding lets us write titles. Used by WP projection."""
        from ulid import ULID

        issue = CanonicalIssue(
            ref=ExternalRef(system, workspace, f"local-{ULID()}"),
            title=title,
            updated_at=datetime.now(UTC),
            **fields,
        )
        self.upsert_issue(issue)
        return issue

    def replace_identity(self, old: CanonicalIssue, new: CanonicalIssue) -> None:
        """Swap a local draft for the issue the tool created, carrying its mappings along."""
        with self.transaction():
            self._db.execute("DELETE FROM tracker_issues WHERE identity = ?", (old.ref.identity,))
            self.upsert_issue(new)
            self._db.execute(
                "UPDATE tracker_mappings SET external_id = ?, external_key = ?, external_url = ?,"
                " updated_at = ? WHERE system = ? AND workspace = ? AND external_id = ?",
                (
                    new.ref.id,
                    new.ref.key,
                    new.ref.url,
                    _now(),
                    old.ref.system,
                    old.ref.workspace,
                    old.ref.id,
                ),
            )

    # -- checkpoints -------------------------------------------------------------
    def checkpoint(self, key: str) -> tuple[str | None, str | None]:
        row = self._db.execute(
            "SELECT cursor, updated_since FROM tracker_checkpoints WHERE checkpoint_key = ?", (key,)
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def set_checkpoint(self, key: str, cursor: str | None, updated_since: str | None) -> None:
        self._db.execute(
            "INSERT INTO tracker_checkpoints (checkpoint_key, cursor, updated_since)"
            " VALUES (?, ?, ?)"
            " ON CONFLICT(checkpoint_key) DO UPDATE SET cursor = excluded.cursor,"
            " updated_since = excluded.updated_since",
            (key, cursor, updated_since),
        )

    # -- mappings ----------------------------------------------------------------
    def add_mapping(self, mission_slug: str, wp_id: str, ref: ExternalRef) -> WorkPackageMapping:
        """Map one work package of one mission to an issue; re-mapping replaces the row.

        An issue already mapped to another work package raises ``sqlite3.IntegrityError``.
        """
        now = _now()
        self._db.execute(
            "INSERT INTO tracker_mappings (mission_slug, wp_id, system, workspace, external_id,"
            " external_key, external_url, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(mission_slug, wp_id, system) DO UPDATE SET"
            " workspace = excluded.workspace,"
            " external_id = excluded.external_id, external_key = excluded.external_key,"
            " external_url = excluded.external_url, updated_at = excluded.updated_at",
            (mission_slug, wp_id, ref.system, ref.workspace, ref.id, ref.key, ref.url, now, now),
        )
        return WorkPackageMapping(
            mission_slug, wp_id, ref.system, ref.workspace, ref.id, ref.key, ref.url
        )

    def mappings(self, mission_slug: str | None = None) -> list[WorkPackageMapping]:
        query = (
            "SELECT mission_slug, wp_id, system, workspace, external_id, external_key, external_url"
            " FROM tracker_mappings"
        )
        params: tuple[str, ...] = ()
        if mission_slug is not None:
            query += " WHERE mission_slug = ?"
            params = (mission_slug,)
        rows = self._db.execute(query + " ORDER BY mission_slug, wp_id", params).fetchall()
        return [WorkPackageMapping(*row) for row in rows]

    # -- conflicts ---------------------------------------------------------------
    def record_conflicts(self, records: Iterable[ConflictRecord]) -> list[ConflictRecord]:
        """Store conflicts; one identical to the latest record for that issue and field
        (a push re-meeting what the pull just resolved) is not stored twice. Returns
        the records actually stored."""
        now = _now()
        stored: list[ConflictRecord] = []
        for record in records:
            data = record.to_dict()
            values = (
                json.dumps(data["local_value"]),
                json.dumps(data["external_value"]),
                json.dumps(data["resolved_value"]),
            )
            latest = self._db.execute(
                "SELECT local_value, external_value, resolved_value FROM tracker_conflicts"
                " WHERE identity = ? AND field_name = ? ORDER BY id DESC LIMIT 1",
                (record.identity, record.field_name),
            ).fetchone()
            if latest is not None and tuple(latest) == values:
                continue
            self._db.execute(
                "INSERT INTO tracker_conflicts (identity, field_name, local_value, external_value,"
                " resolved_value, strategy, manual_review_required, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.identity,
                    record.field_name,
                    *values,
                    record.strategy.value,
                    int(record.manual_review_required),
                    now,
                ),
            )
            stored.append(record)
        return stored

    def conflicts(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT identity, field_name, local_value, external_value, resolved_value, strategy,"
            " manual_review_required, recorded_at FROM tracker_conflicts ORDER BY id"
        ).fetchall()
        return [
            {
                "identity": r[0],
                "field_name": r[1],
                "local_value": json.loads(r[2]),
                "external_value": json.loads(r[3]),
                "resolved_value": json.loads(r[4]),
                "strategy": r[5],
                "manual_review_required": bool(r[6]),
                "recorded_at": r[7],
            }
            for r in rows
        ]
