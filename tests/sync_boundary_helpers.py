"""Legacy queue files (the reference's schema), owner records and CLI runs for the sync
boundary tests."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from ulid import ULID

from auth_helpers import sample_session
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import owner
from spec_kitty.sync.scope import SyncScope, current_scope

from helpers import parse_one_json, run_cli

GATE = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9"}
LEGACY_SCHEMA = """
CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL,
    event_type TEXT NOT NULL, data TEXT NOT NULL, timestamp INTEGER NOT NULL,
    retry_count INTEGER DEFAULT 0, coalesce_key TEXT);
CREATE INDEX idx_timestamp ON queue(timestamp);
CREATE INDEX idx_retry ON queue(retry_count);
"""


def runtime() -> RuntimePaths:
    return RuntimePaths(Path(os.environ["SPEC_KITTY_HOME"]))


def logged_in(server_url: str = "http://127.0.0.1:9") -> SyncScope:
    """Store a sample session (no hub involved) and return its scope."""
    SessionStore(runtime()).save(sample_session(server_url))
    scope = current_scope(runtime())
    assert scope is not None
    return scope


def make_legacy(paths: RuntimePaths, count: int, *, retry: int = 0) -> list[str]:
    """``<runtime>/queue.db`` with ``count`` rows in the reference's schema; their ids."""
    paths.root.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(paths.root / "queue.db")
    conn.executescript(LEGACY_SCHEMA)
    ids = [str(ULID()) for _ in range(count)]
    conn.executemany("INSERT INTO queue (event_id, event_type, data, timestamp, retry_count) "
                     "VALUES (?, ?, ?, ?, ?)",
                     [(i, "WPStatusChanged", json.dumps({"event_id": i, "event_type":
                                                         "WPStatusChanged", "payload": {}}),
                       1_700_000_000 + n, retry) for n, i in enumerate(ids)])
    conn.commit()
    conn.close()
    return ids


def ids_in(path: Path) -> list[str]:
    """Every queued event_id of a queue file (duplicates would show twice)."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT event_id FROM queue")]
    finally:
        conn.close()


def sync(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    proc = run_cli(["sync", *args, "--json"], cwd, env=GATE if env is None else env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, parse_one_json(proc.stdout)


def record_for(pid: int, scope: SyncScope, paths: RuntimePaths, **changes: Any
               ) -> owner.OwnerRecord:
    """An owner record naming ``pid`` that agrees with this CLI, changed by ``changes``."""
    values: dict[str, Any] = {
        "pid": pid, "port": 9412, "server_url": scope.server_url, "user": scope.user,
        "team_slug": scope.team_slug, "auth_scope": scope.digest,
        "queue_path": str(scope.queue_path(paths)), "started_at": "2026-12-05T09:00:00+00:00",
        "process_start": owner.process_start_ticks(pid), **owner.current_identity()}
    values.update(changes)
    return owner.OwnerRecord(**values)


def sleeper() -> subprocess.Popen[bytes]:
    """A live process to stand in for a daemon (the test kills it)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
