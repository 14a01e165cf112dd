"""The Lamport clock (cross-process lock) and the SQLite offline queue."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.clock import LamportClock, machine_node_id
from spec_kitty.sync.queue import (
    DUPLICATE,
    FAILED_PERMANENT,
    PENDING,
    REJECTED,
    SUCCESS,
    EventQueue,
    Outcome,
    QueueFull,
)
from spec_kitty.sync.scope import SyncScope


def envelope(n: int, event_type: str = "WPStatusChanged") -> dict[str, Any]:
    return {"event_id": f"01J{n:023d}", "event_type": event_type, "payload": {"n": n}}


def run_python(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# ---- clock -----------------------------------------------------------------------


def test_clock_ticks_receives_and_survives_corruption(tmp_path: Path) -> None:
    clock = LamportClock(RuntimePaths(tmp_path))
    assert clock.current() == 0
    assert clock.tick() == 1
    assert clock.tick(5) == 2  # reserves 2..6
    assert clock.current() == 6
    assert clock.receive(3) == 7 and clock.receive(100) == 101
    data = json.loads((tmp_path / "clock.json").read_text())
    assert data["value"] == 101 and data["node_id"] == machine_node_id()
    (tmp_path / "clock.json").write_text("{not json")
    assert clock.tick() == 1
    with pytest.raises(ValueError):
        clock.tick(0)


def test_node_id_is_stable_hex() -> None:
    assert machine_node_id() == machine_node_id()
    assert len(machine_node_id()) == 12 and int(machine_node_id(), 16) >= 0


@pytest.mark.slow
def test_clock_never_repeats_across_processes(tmp_path: Path) -> None:
    code = """
        import sys
        from pathlib import Path
        from spec_kitty.hosted.runtime import RuntimePaths
        from spec_kitty.sync.clock import LamportClock
        clock = LamportClock(RuntimePaths(Path(sys.argv[1])))
        values = []
        for i in range(150):
            first = clock.tick(1 + i % 3)
            values.extend(range(first, first + 1 + i % 3))
        print(" ".join(map(str, values)))
    """
    procs = [run_python(code, str(tmp_path)) for _ in range(4)]
    seen: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        seen += [int(v) for v in out.split()]
    assert len(seen) == len(set(seen)) == 4 * 300
    assert LamportClock(RuntimePaths(tmp_path)).current() == max(seen)


# ---- queue -----------------------------------------------------------------------


def test_scope_digest_separates_users_teams_and_hubs(tmp_path: Path) -> None:
    a = SyncScope("http://127.0.0.1:8000/", "a@x", "team-1")
    assert a.digest == SyncScope("HTTP://127.0.0.1:8000", "a@x", "team-1").digest
    others = {SyncScope("http://127.0.0.1:8000", "b@x", "team-1").digest,
              SyncScope("http://127.0.0.1:8000", "a@x", "team-2").digest,
              SyncScope("http://127.0.0.1:9000", "a@x", "team-1").digest}
    assert a.digest not in others and len(others) == 3
    assert a.queue_path(RuntimePaths(tmp_path)).name == f"queue-{a.digest}.db"


def test_queue_is_wal_fifo_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with EventQueue(path) as queue:
        assert queue.enqueue([envelope(i) for i in range(5)]) == 5
        assert queue.enqueue([envelope(3), envelope(5)]) == 1  # 3 is already queued
        assert queue.depth() == 6
        assert [e.event_id for _, e in queue.peek(10)] == [envelope(i)["event_id"]
                                                           for i in range(6)]
        assert [e.event_id for e in queue.all_events()][-1] == envelope(5)["event_id"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_results_follow_the_reference_table(tmp_path: Path) -> None:
    with EventQueue(tmp_path / "q.db") as queue:
        queue.enqueue([envelope(i) for i in range(5)])
        events = {e.event_id: e for _, e in queue.peek(10)}
        ids = list(events)
        queue.apply([Outcome(ids[0], SUCCESS), Outcome(ids[1], DUPLICATE),
                     Outcome(ids[2], REJECTED, "bad field", "schema_mismatch"),
                     Outcome(ids[3], PENDING),
                     Outcome(ids[4], FAILED_PERMANENT, "too big", "oversized_event")], events)
        left = {e.event_id: e for _, e in queue.peek(10)}
        assert set(left) == {ids[2], ids[3]}
        assert left[ids[2]].retry_count == 1 and left[ids[3]].retry_count == 0
        assert queue.depth() == 2
        assert queue.known_ids() == set(ids)  # acked, queued or failed: none forgotten
        failure = queue.failures()[0]
        assert (failure["event_id"], failure["category"]) == (ids[4], "oversized_event")
        stats = queue.stats()
        assert stats.retry_histogram == {"0 retries": 1, "1-3 retries": 1, "4+ retries": 0}
        assert stats.top_event_types == [("WPStatusChanged", 2)] and stats.failures == 1


def test_a_full_queue_refuses_and_never_evicts(tmp_path: Path) -> None:
    with EventQueue(tmp_path / "q.db", max_size=3) as queue:
        queue.enqueue([envelope(0), envelope(1)])
        with pytest.raises(QueueFull) as info:
            queue.enqueue([envelope(2), envelope(3)])
        assert info.value.code == "QUEUE_FULL" and "2 / 3" in info.value.message
        assert [e.event_id for e in queue.all_events()] == [envelope(0)["event_id"],
                                                            envelope(1)["event_id"]]
        assert queue.enqueue([envelope(2)]) == 1 and queue.depth() == 3


_ENQUEUER = """
    import sys
    from pathlib import Path
    from spec_kitty.sync.queue import EventQueue
    worker, count = int(sys.argv[2]), int(sys.argv[3])
    with EventQueue(Path(sys.argv[1])) as queue:
        for i in range(count):
            n = worker * 100000 + i
            queue.enqueue([{"event_id": f"01J{n:023d}", "event_type": "T", "payload": {}}])
            print(n, flush=True)
"""


@pytest.mark.slow
def test_concurrent_enqueuers_and_a_drainer_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    EventQueue(path).close()
    procs = [run_python(_ENQUEUER, str(path), str(w), "150") for w in range(4)]
    acked: set[str] = set()
    with EventQueue(path) as queue:
        while any(p.poll() is None for p in procs) or queue.depth():
            page = queue.peek(50)
            events = {e.event_id: e for _, e in page}
            queue.apply([Outcome(i, SUCCESS) for i in events], events)
            acked.update(events)
        for proc in procs:
            assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        assert queue.depth() == 0
    assert len(acked) == 600


@pytest.mark.slow
def test_kill_9_during_enqueue_leaves_a_consistent_queue(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    EventQueue(path).close()
    for round_ in range(int(os.environ.get("SPEC_KITTY_CRASH_ROUNDS", "5"))):
        proc = run_python(_ENQUEUER, str(path), str(round_), "100000")
        assert proc.stdout is not None
        for _ in range(1 + round_ * 7 % 40):  # let it get somewhere before the kill
            proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with EventQueue(path) as queue:
        rows = list(queue.all_events())
        # the trigger-kept count always equals the rows actually there
        assert queue.depth() == len(rows) > 0
        assert len({e.event_id for e in rows}) == len(rows)


def test_open_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    EventQueue(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    proc = run_python(_ENQUEUER, str(path), "1", "3")
    time.sleep(0.5)  # the child is now waiting on the busy timeout (not asserted on time)
    blocker.execute("COMMIT")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    with EventQueue(path) as queue:
        assert queue.depth() == 3


def test_a_damaged_queue_file_is_set_aside_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    with EventQueue(path) as queue:
        assert queue.set_aside is not None and queue.set_aside.exists()
        assert queue.set_aside.name.startswith("q.db.damaged-")
        assert queue.enqueue([envelope(1)]) == 1 and queue.depth() == 1
