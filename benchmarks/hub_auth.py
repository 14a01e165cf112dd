"""Team hub: token endpoint and /api/v1/me latency, on SQLite and PostgreSQL.

Each backend gets a real `spec-kitty-hub serve` (one worker) on 127.0.0.1; one client
with keep-alive sends requests one after another (no concurrency: this is latency, not
throughput). Token endpoint = `grant_type=refresh_token` (rotation: a read, an update
and two inserts per request), the call every CLI makes every 15 minutes.
PostgreSQL is a throwaway cluster from Debian's server binaries in a temp dir.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hub_fixtures import HubServer, PostgresCluster  # noqa: E402

TOKEN_RUNS = 300
ME_RUNS = 1000
WARMUP = 20


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def _line(label: str, samples: list[float]) -> None:
    p50, p99 = _percentiles(samples)
    print(f"{label:48} p50 {p50 * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms  (n={len(samples)})")


def _measure(hub: HubServer) -> None:
    user = hub.create_user()
    hub.create_team(owner=user.email)
    tokens = hub.login(user)
    refresh = tokens["refresh_token"]
    with httpx.Client(base_url=hub.url, trust_env=False, timeout=30) as client:
        token_samples: list[float] = []
        for index in range(WARMUP + TOKEN_RUNS):
            start = time.perf_counter()
            response = client.post("/oauth/token", data={
                "grant_type": "refresh_token", "refresh_token": refresh,
                "client_id": "cli_native"})
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"token endpoint answered {response.status_code}")
            refresh = response.json()["refresh_token"]
            access = response.json()["access_token"]
            if index >= WARMUP:
                token_samples.append(elapsed)
        headers = {"Authorization": f"Bearer {access}"}
        me_samples: list[float] = []
        for index in range(WARMUP + ME_RUNS):
            start = time.perf_counter()
            response = client.get("/api/v1/me", headers=headers)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"/api/v1/me answered {response.status_code}")
            if index >= WARMUP:
                me_samples.append(elapsed)
    _line(f"POST /oauth/token refresh ({hub.backend})", token_samples)
    _line(f"GET /api/v1/me ({hub.backend})", me_samples)


def main() -> int:
    print("== team hub (one worker, sequential requests)")
    with tempfile.TemporaryDirectory(prefix="sk-bench-hub-") as tmp:
        sqlite = HubServer(backend="sqlite", workdir=Path(tmp),
                           database_url=f"sqlite:///{tmp}/hub.sqlite3")
        sqlite.start()
        try:
            _measure(sqlite)
        finally:
            sqlite.stop()
        cluster = PostgresCluster()
        try:
            cluster.start()
            url = cluster.create_database("bench")
            migrate = HubServer(backend="postgresql", workdir=Path(tmp), database_url=url)
            migrate.admin("migrate")
            postgres = HubServer(backend="postgresql", workdir=Path(tmp), database_url=url)
            postgres.start()
            try:
                _measure(postgres)
            finally:
                postgres.stop()
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
