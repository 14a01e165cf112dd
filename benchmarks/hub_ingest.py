"""Team hub: event ingest throughput (POST /api/v1/events/batch/) with 1 and 4 workers,
on SQLite and PostgreSQL.

A real `spec-kitty-hub serve --workers N` on 127.0.0.1; 8 client threads post
pre-built gzip batches of 500 new WPStatusChanged envelopes (each thread its own
missions, 20 work packages each), so the figure is the hub's: body inflate, envelope
validation against the published schemas, the insert with dedupe and the board
projection in one transaction. Each configuration gets a fresh database.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hub_fixtures import HubServer, PostgresCluster  # noqa: E402
from sync_hub_helpers import BATCH, Repo  # noqa: E402

THREADS = 8
BATCH_SIZE = 500
BATCHES_PER_THREAD = 5
LANES = ["planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done"]


def _bodies(repo: Repo, thread: int) -> list[bytes]:
    bodies = []
    for batch in range(BATCHES_PER_THREAD):
        mission = f"bench-{thread}-{batch}"
        events = []
        for index in range(BATCH_SIZE):
            wp, step = f"WP{index % 20 + 1:02d}", index // 20
            events.append(repo.move(mission, wp, None, LANES[step % len(LANES)], index))
        bodies.append(gzip.compress(orjson.dumps({"events": events})))
    return bodies


def _measure(hub: HubServer, workers: int) -> None:
    user = hub.create_user()
    token = hub.login(user)["access_token"]
    repo = Repo(team=user.private_team)
    payloads = [_bodies(repo, thread) for thread in range(THREADS)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "Content-Encoding": "gzip"}
    failures: list[str] = []
    start_line = threading.Barrier(THREADS + 1)

    def send(bodies: list[bytes]) -> None:
        with httpx.Client(base_url=hub.url, trust_env=False, timeout=300) as client:
            start_line.wait()
            for body in bodies:
                while True:
                    response = client.post(BATCH, content=body, headers=headers)
                    if response.status_code == 429:
                        time.sleep(0.05)
                        continue
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                    break

    threads = [threading.Thread(target=send, args=(bodies,)) for bodies in payloads]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"ingest failed: {failures[0]}")
    total = THREADS * BATCHES_PER_THREAD * BATCH_SIZE
    print(f"{'ingest ' + hub.backend + f', {workers} worker(s)':48} {total / elapsed:9.0f} "
          f"events/s  ({total} events in {elapsed:.2f} s, batches of {BATCH_SIZE}, "
          f"{THREADS} clients)")


def _run(backend: str, url: str, workdir: Path, workers: int) -> None:
    hub = HubServer(backend=backend, workdir=workdir, database_url=url)
    if backend == "postgresql":
        hub.admin("migrate")
    hub.start("--workers", str(workers))
    try:
        _measure(hub, workers)
    finally:
        hub.stop()


def main() -> int:
    print("== team hub ingest (POST /api/v1/events/batch/, gzip, new events)")
    with tempfile.TemporaryDirectory(prefix="sk-bench-ingest-") as tmp:
        for workers in (1, 4):
            _run("sqlite", f"sqlite:///{tmp}/hub-{workers}.sqlite3", Path(tmp), workers)
        cluster = PostgresCluster()
        try:
            cluster.start()
            for workers in (1, 4):
                _run("postgresql", cluster.create_database(f"bench{workers}"), Path(tmp),
                     workers)
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
