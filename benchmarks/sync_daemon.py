"""The background sync daemon: cold start to healthy, and a status change reaching the
hub with the daemon running (emitter → trigger → drain → hub's database).

Goals (issue 13): cold start to healthy <= 1 s; status change visible on the hub
<= 1 s p50 on loopback (one `spec-kitty-hub serve` worker, SQLite); and the emitter,
trigger included, stays within the <= 5 ms a status write may spend on sync.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from sync_cli import _log_in, _project, _rows  # noqa: E402

from hub_fixtures import HubServer  # noqa: E402

COLD_RUNS = 10
CHANGES = 20


def _line(label: str, samples: list[float], goal: float) -> bool:
    median = statistics.median(samples)
    print(f"{label:48} median {median:.4f}s  min {min(samples):.4f}s  max {max(samples):.4f}s"
          f"  (n={len(samples)}, goal <= {goal:g} s{'' if median <= goal else ', OVER'})")
    return median <= goal


def _env(root: Path, hub_url: str) -> dict[str, str]:
    env = {**os.environ, "SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": hub_url,
           "SPEC_KITTY_HOME": str(root)}
    env.pop("SPEC_KITTY_SYNC_DISABLE", None)
    return env


def _cold_start(base: Path) -> bool:
    from spec_kitty.hosted.runtime import RuntimePaths
    from spec_kitty.sync.daemon import client, launcher

    paths = RuntimePaths(base / "cold-home")
    _log_in(paths, "http://127.0.0.1:9")
    env = _env(paths.root, "http://127.0.0.1:9")
    samples = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "spec_kitty.sync.daemon", "--root",
                                 str(paths.root)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        while True:
            record = launcher.live_record(paths)
            if record is not None and record.pid == proc.pid:
                try:
                    client.health(record.port, timeout=5)
                    break
                except client.DaemonUnreachable:
                    pass
            if proc.poll() is not None:
                raise SystemExit("the daemon exited during start-up")
            time.sleep(0.002)
        samples.append(time.perf_counter() - start)
        launcher.stop(paths, record)
        proc.wait(timeout=60)
    return _line("daemon cold start to healthy", samples, 1.0)


def _visibility(base: Path, hub: HubServer) -> bool:
    from spec_kitty.hosted.runtime import RuntimePaths
    from spec_kitty.sync.daemon import control
    from spec_kitty.sync.emitter import emit_status_events
    from spec_kitty.sync.scope import current_scope
    from sync_hub_helpers import stored_count

    repo = _project(base)
    paths = RuntimePaths(base / "home")
    _log_in(paths, hub.url, hub)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(_env(paths.root, hub.url))
    try:
        scope = current_scope(paths)
        assert scope is not None
        os.environ["SPEC_KITTY_SYNC_DISABLE"] = "1"  # the same writes without a daemon
        baseline = []
        for row in _rows(40, "bench-baseline"):
            start = time.perf_counter()
            emit_status_events(repo, "bench-baseline", [row], paths)
            baseline.append(time.perf_counter() - start)
        del os.environ["SPEC_KITTY_SYNC_DISABLE"]
        started = control.start(paths)
        if started.pid is None:
            raise SystemExit(f"daemon not started: {started.message}")
        samples, emitter = [], []
        for row in _rows(CHANGES, "bench-daemon"):
            before = stored_count(hub, scope.team_slug)
            start = time.perf_counter()
            emit_status_events(repo, "bench-daemon", [row], paths)
            emitter.append(time.perf_counter() - start)
            while stored_count(hub, scope.team_slug) == before:
                if time.perf_counter() - start > 60:
                    raise SystemExit("the event did not reach the hub within 60 s")
                time.sleep(0.002)
            samples.append(time.perf_counter() - start)
    finally:
        control.stop(paths)
        os.environ.clear()
        os.environ.update(saved)
    from spec_kitty.sync.daemon.policy import on_events_queued

    nudges = []
    for _ in range(50):
        start = time.perf_counter()
        on_events_queued(paths)
        nudges.append(time.perf_counter() - start)
        time.sleep(0.02)
    _line("emitter cost without a daemon (baseline)", baseline[2:], 0.005)
    ok = _line("emitter cost, daemon running (enqueue + nudge)", emitter[2:], 0.005)
    ok &= _line("  of which the daemon nudge alone", nudges[2:], 0.001)
    return _line("status change → on the hub (daemon running)", samples, 1.0) and ok


def main() -> int:
    print("== background sync daemon")
    with tempfile.TemporaryDirectory(prefix="sk-bench-daemon-") as tmp:
        ok = _cold_start(Path(tmp))
        hub = HubServer(backend="sqlite", database_url=f"sqlite:///{Path(tmp) / 'hub.db'}",
                        workdir=Path(tmp))
        hub.start()
        try:
            ok &= _visibility(Path(tmp), hub)
        finally:
            hub.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
