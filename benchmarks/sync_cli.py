"""Event sync, CLI side: enqueue rate, the emitter's cost per status write, a 10,000-event
drain to a local hub (SQLite and PostgreSQL), and `spec-kitty sync status` as a whole
process with 10,000 events queued.

Goals (issue 12): enqueue >= 20,000 events/s in-process batch (reference: 1,608/s);
<= 5 ms added to a move; 10,000 events drained in <= 3 s; `sync status` <= 0.2 s.
The drain figure includes the hub's ingest (one `spec-kitty-hub serve` worker).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from hub_fixtures import HubServer, PostgresCluster  # noqa: E402

from _common import CLI, report, time_command  # noqa: E402

DRAIN_EVENTS = 10_000
ENQUEUE_EVENTS = 20_000


def _project(base: Path) -> Path:
    repo = base / "repo"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([CLI, "init", ".", "--ai", "claude", "--non-interactive"], cwd=repo,
                   check=True, capture_output=True)
    return repo


def _rows(count: int, mission: str = "bench-mission") -> list[dict[str, Any]]:
    from ulid import ULID

    lanes = ("planned", "claimed", "in_progress", "for_review", "in_review", "approved")
    return [{"event_id": str(ULID()), "mission_slug": mission, "wp_id": f"WP{n % 50 + 1:02d}",
             "from_lane": lanes[n % 5], "to_lane": lanes[n % 5 + 1], "force": False,
             "at": f"2026-11-29T10:00:00.{n:06d}+00:00", "actor": "bench",
             "execution_mode": "worktree", "reason": None, "review_ref": None,
             "evidence": None} for n in range(count)]


def _log_in(paths: Any, server_url: str, hub: HubServer | None = None) -> None:
    """Store a session: a real one from ``hub``, else a local stand-in (no network used)."""
    from spec_kitty.auth.session import DEVICE, Identity, Session, TokenGrant, utc_now
    from spec_kitty.auth.storage import SessionStore

    now = utc_now()
    if hub is not None:
        user = hub.create_user()
        tokens = hub.login(user)
        me = hub.http.get("/api/v1/me", headers=hub.bearer(tokens["access_token"])).json()
    else:
        tokens = {"access_token": "a", "refresh_token": "r", "expires_in": 900,
                  "session_id": "s"}
        me = {"user_id": 1, "email": "bench@example.com", "name": "",
              "teams": [{"id": "bench", "name": "Bench", "role": "owner",
                         "is_private_teamspace": True}]}
    session = Session.create(server_url, TokenGrant.from_json(tokens, now),
                             Identity.from_json(me), DEVICE, now)
    SessionStore(paths).save(session)


def _enqueue(envelope_rows: list[dict[str, Any]], repo: Path, paths: Any) -> float:
    from spec_kitty.core.sync.envelope import envelope_for_status_event
    from spec_kitty.repo.paths import ProjectPaths
    from spec_kitty.sync.context import envelope_context
    from spec_kitty.sync.emitter import enqueue
    from spec_kitty.sync.scope import current_scope

    scope = current_scope(paths)
    assert scope is not None
    start = time.perf_counter()
    context = envelope_context(ProjectPaths(repo), scope.team_slug)
    envelopes = [envelope_for_status_event(row, context, 0) for row in envelope_rows]
    enqueue(envelopes, scope, paths)
    return time.perf_counter() - start


def _local(base: Path) -> bool:
    from spec_kitty.hosted.runtime import RuntimePaths
    from spec_kitty.sync.emitter import emit_status_events

    repo = _project(base)
    paths = RuntimePaths(base / "home")
    _log_in(paths, "http://127.0.0.1:9")
    elapsed = _enqueue(_rows(ENQUEUE_EVENTS), repo, paths)
    rate = ENQUEUE_EVENTS / elapsed
    print(f"{'enqueue, in-process batch (build + queue)':48} {rate:10,.0f} events/s  "
          f"(n={ENQUEUE_EVENTS}, goal >= 20,000/s, reference 1,608/s)")
    samples = []
    for row in _rows(300, "bench-emitter"):
        start = time.perf_counter()
        emit_status_events(repo, "bench-emitter", [row], paths)
        samples.append(time.perf_counter() - start)
    ok = report("emitter cost of one status write", samples[20:], budget=0.005)
    env = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_HOME": str(paths.root),
           "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9"}
    status = time_command([CLI, "sync", "status", "--json"], cwd=repo, env=env, runs=15)
    ok &= report(f"sync status, whole process ({ENQUEUE_EVENTS + 300} queued)", status,
                 budget=0.2)
    return ok


def _drain(base: Path, hub: HubServer) -> bool:
    from spec_kitty.hosted.runtime import RuntimePaths
    from spec_kitty.sync.now import run_sync

    repo = _project(base)
    paths = RuntimePaths(base / "home")
    _log_in(paths, hub.url, hub)
    _enqueue(_rows(DRAIN_EVENTS), repo, paths)
    saved = dict(os.environ)
    os.environ.update({"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": hub.url,
                       "SPEC_KITTY_HOME": str(paths.root)})
    try:
        start = time.perf_counter()
        summary = run_sync(paths)
        elapsed = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if summary.synced != DRAIN_EVENTS:
        raise SystemExit(f"drain delivered {summary.synced} of {DRAIN_EVENTS}")
    print(f"{f'drain {DRAIN_EVENTS:,} events to a local hub ({hub.backend})':48} "
          f"{elapsed:8.2f} s  ({DRAIN_EVENTS / elapsed:,.0f} events/s, {summary.batches} "
          f"batches, goal <= 3 s)")
    return elapsed <= 3.0


def main() -> int:
    print("== event sync, CLI side")
    ok = True
    with tempfile.TemporaryDirectory(prefix="sk-bench-sync-") as tmp:
        ok &= _local(Path(tmp) / "local")
        for backend in ("sqlite", "postgresql"):
            base = Path(tmp) / backend
            base.mkdir()
            cluster = PostgresCluster() if backend == "postgresql" else None
            try:
                if cluster is not None:
                    cluster.start()
                    url = cluster.create_database(f"bench_{uuid.uuid4().hex[:8]}")
                    subprocess.run([str(Path(sys.executable).parent / "spec-kitty-hub"),
                                    "migrate", "--database", url], check=True,
                                   capture_output=True)
                else:
                    url = f"sqlite:///{base / 'hub.sqlite3'}"
                hub = HubServer(backend=backend, database_url=url, workdir=base)
                hub.start()
                try:
                    ok &= _drain(base, hub)
                finally:
                    hub.stop()
            finally:
                if cluster is not None:
                    cluster.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
