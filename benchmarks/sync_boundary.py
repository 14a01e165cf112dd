"""The sync boundary: `spec-kitty sync status --check` as a whole process (logged in, a
local hub pinged with the real token, 10,000 events queued), and the legacy → scoped
queue migration of 10,000 rows (in-process, and `spec-kitty sync migrate` whole process).

Goals (issue 13): `sync status --check` <= 0.3 s; migration of 10,000 rows < 1 s.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from hub_fixtures import HubServer  # noqa: E402

from _common import CLI, report, time_command  # noqa: E402

ROWS = 10_000
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL,
    event_type TEXT NOT NULL, data TEXT NOT NULL, timestamp INTEGER NOT NULL,
    retry_count INTEGER DEFAULT 0, coalesce_key TEXT);
"""


def _legacy(root: Path, start: int) -> None:
    """``<root>/queue.db`` with ROWS rows of ~600 bytes (the reference's schema)."""
    conn = sqlite3.connect(root / "queue.db")
    conn.executescript(LEGACY_SCHEMA)
    data = '{"event_type":"WPStatusChanged","payload":{"wp_id":"WP01"},"pad":"' + "x" * 540
    conn.executemany("INSERT INTO queue (event_id, event_type, data, timestamp) "
                     "VALUES (?, ?, ?, ?)",
                     [(f"bench-{start + n:09d}", "WPStatusChanged", data + '"}',
                       1_700_000_000 + n) for n in range(ROWS)])
    conn.commit()
    conn.close()


def _log_in(paths: Any, hub: HubServer) -> None:
    from spec_kitty.auth.session import DEVICE, Identity, Session, TokenGrant, utc_now
    from spec_kitty.auth.storage import SessionStore

    user = hub.create_user()
    tokens = hub.login(user)
    me = hub.http.get("/api/v1/me", headers=hub.bearer(tokens["access_token"])).json()
    now = utc_now()
    session = Session.create(hub.url, TokenGrant.from_json(tokens, now),
                             Identity.from_json(me), DEVICE, now)
    SessionStore(paths).save(session)


def _migration(paths: Any) -> bool:
    from spec_kitty.sync.boundary.migrate import migrate_legacy
    from spec_kitty.sync.scope import current_scope

    scope = current_scope(paths)
    assert scope is not None
    samples = []
    for run in range(5):
        _legacy(paths.root, run * ROWS)
        start = time.perf_counter()
        result = migrate_legacy(paths, scope, max_size=10 * ROWS)
        samples.append(time.perf_counter() - start)
        if result.moved != ROWS or result.left:
            raise SystemExit(f"migration moved {result.moved} of {ROWS}")
    return report(f"migrate {ROWS:,} legacy rows, in-process", samples, budget=1.0)


def main() -> int:
    from spec_kitty.hosted.runtime import RuntimePaths

    print("== sync boundary")
    ok = True
    with tempfile.TemporaryDirectory(prefix="sk-bench-boundary-") as tmp:
        base = Path(tmp)
        hub = HubServer(backend="sqlite", database_url=f"sqlite:///{base / 'hub.sqlite3'}",
                        workdir=base)
        hub.start()
        try:
            paths = RuntimePaths(base / "home")
            paths.root.mkdir()
            paths.config_file.write_text("[sync]\nmax_queue_size = 200000\n")
            _log_in(paths, hub)
            ok &= _migration(paths)
            env = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_HOME": str(paths.root),
                   "SPEC_KITTY_SAAS_URL": hub.url}
            migrate = []
            for run in range(3):
                _legacy(paths.root, (10 + run) * ROWS)
                start = time.perf_counter()
                subprocess.run([CLI, "sync", "migrate", "--json"], env={**os.environ, **env},
                               check=True, capture_output=True)
                migrate.append(time.perf_counter() - start)
            ok &= report(f"sync migrate {ROWS:,} rows, whole process", migrate, budget=1.0)
            check = time_command([CLI, "sync", "status", "--check", "--json"], cwd=base,
                                 env=env, runs=15)
            ok &= report("sync status --check, whole process (hub pinged)", check,
                         budget=0.3)
        finally:
            hub.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
