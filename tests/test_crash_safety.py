"""SIGKILL writers at random points while others append: nothing torn, nothing lost.

An append is one write(2) at the end of the log; a writer killed inside it can leave a
torn tail (whole lines, then part of one, no newline). The documented rule: the torn
tail is never data and never makes the log unreadable, and the next writer cuts it.
The tests wait for writers to make progress; they never assume how fast they write.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from spec_kitty.core.status.events import parse_log_strict
from spec_kitty.core.status.reducer import reduce_log
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log

from missions_fixture import make_mission

WRITERS = 8
ROUNDS = 200
LARGE_WRITERS = 3
LARGE_ROUNDS = 30
PROGRESS_TIMEOUT = 300.0  # a liveness bound for a stuck writer, not a speed assumption
WRITER = Path(__file__).with_name("crash_writer.py")


class Writer:
    def __init__(self, root: Path, mission_dir: Path, tag: str, reported: set[str],
                 lock: threading.Lock, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(root), str(mission_dir), tag, *extra],
            stdin=subprocess.PIPE if extra else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.reader = threading.Thread(target=self._collect, args=(reported, lock), daemon=True)
        self.reader.start()

    def _collect(self, reported: set[str], lock: threading.Lock) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with lock:
                reported.update(line.split())

    def go(self) -> None:
        """``--large`` writers append one batch per line on their stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=10)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        assert "Traceback" not in err, err


def wait_for_progress(reported: set[str], lock: threading.Lock, since: int) -> int:
    """Block until more than ``since`` events were reported durable; return the count."""
    deadline = time.monotonic() + PROGRESS_TIMEOUT
    while True:
        with lock:
            count = len(reported)
        if count > since:
            return count
        assert time.monotonic() < deadline, f"no writer made progress in {PROGRESS_TIMEOUT} s"
        time.sleep(0.005)


def check(mission_dir: Path, reported: set[str], lock: threading.Lock) -> tuple[int, bool]:
    """Every reported event is in the log, which reads strictly; returns (events, torn)."""
    with lock:
        expected = set(reported)  # reported before this read started
    data = (mission_dir / "status.events.jsonl").read_bytes()
    parsed = parse_log_strict(data, "status.events.jsonl")  # raises on any torn middle line
    torn = not (data == b"" or data.endswith(b"\n"))
    present = {row["event_id"] for row in parsed.annotations}
    if torn:
        # An unterminated end is a killed (or still running) writer's unfinished line: not
        # data. Only if the write stopped exactly before its newline is the line complete
        # JSON, and then it is an event like any other (the next writer terminates it).
        last = data[data.rfind(b"\n") + 1:]
        complete = parsed.torn_tail is None and json.loads(last)["event_id"] in present
        assert complete or parsed.torn_tail == data.count(b"\n") + 1
    missing = expected - present
    assert not missing, f"{len(missing)} reported events lost"
    snapshot = mission_dir / "status.json"
    if snapshot.exists():
        json.loads(snapshot.read_text())  # never a half-written snapshot
    return len(present), torn


def recover(root: Path, mission_dir: Path) -> None:
    """What the next writer does: under the lock, an append (of nothing) cuts a torn tail."""
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from pathlib import Path\n"
         "from spec_kitty.repo.status import event_log\n"
         "from spec_kitty.repo.missions import Mission\n"
         "from spec_kitty.repo.paths import ProjectPaths\n"
         "m = Mission(Path(sys.argv[2]))\n"
         "with event_log.status_lock(ProjectPaths(Path(sys.argv[1])), m):\n"
         "    event_log.append_rows(m, [])\n",
         str(root), str(mission_dir)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_sigkill_during_concurrent_appends_never_tears_or_loses(initialized_repo: Path) -> None:
    mission = make_mission(initialized_repo)
    (mission.path / ".status.events.jsonl.123.deadbeef.tmp").write_text("left by an old writer")
    rng = random.Random(1234)
    reported: set[str] = set()
    lock = threading.Lock()
    writers = [Writer(initialized_repo, mission.path, f"w{i}", reported, lock)
               for i in range(WRITERS)]
    try:
        seen = wait_for_progress(reported, lock, 0)
        for round_no in range(ROUNDS):
            seen = wait_for_progress(reported, lock, seen)
            time.sleep(rng.uniform(0, 0.04))
            slot = rng.randrange(WRITERS)
            writers[slot].kill()
            check(mission.path, reported, lock)
            writers[slot] = Writer(initialized_repo, mission.path, f"w{slot}r{round_no}",
                                   reported, lock)
    finally:
        for writer in writers:
            if writer.proc.poll() is None:
                writer.kill()
    recover(initialized_repo, mission.path)
    total, torn = check(mission.path, reported, lock)
    assert not torn
    assert len(reported) > ROUNDS  # the writers really were writing
    assert total >= len(reported)
    assert [p for p in os.listdir(mission.path) if p.startswith(".status.events")] == []


@pytest.mark.slow
def test_sigkill_inside_write_of_large_rows_leaves_only_a_torn_tail(
        initialized_repo: Path) -> None:
    """Megabyte rows keep write(2) busy long enough for kills to land inside it."""
    mission = make_mission(initialized_repo)
    project = ProjectPaths(initialized_repo)
    rng = random.Random(99)
    reported: set[str] = set()
    lock = threading.Lock()

    def spawn(tag: str) -> Writer:
        return Writer(initialized_repo, mission.path, tag, reported, lock, "--large")

    log = mission.path / "status.events.jsonl"
    writers = [spawn(f"L{i}") for i in range(LARGE_WRITERS)]
    torn_seen = 0
    try:
        for round_no in range(LARGE_ROUNDS):
            slot = rng.randrange(LARGE_WRITERS)
            victim, other = writers[slot], writers[(slot + 1) % LARGE_WRITERS]
            # The other writer appends first: it cuts the torn tail of the last kill.
            seen = len(reported)
            other.go()
            seen = wait_for_progress(reported, lock, seen)
            before = log.stat().st_size
            victim.go()
            deadline = time.monotonic() + PROGRESS_TIMEOUT
            while log.stat().st_size == before:  # kill as soon as write(2) is under way
                assert time.monotonic() < deadline, "the writer never started its write"
            victim.kill()
            _, torn = check(mission.path, reported, lock)
            torn_seen += torn
            # Whatever the cache holds describes the log exactly, torn tail or not.
            folded = event_log.load_snapshot(project, Mission(mission.path))
            data = log.read_bytes()
            parsed = parse_log_strict(data, "log")
            assert folded == event_log.snapshot_of(Mission(mission.path), parsed)
            writers[slot] = spawn(f"L{slot}r{round_no}")
    finally:
        for writer in writers:
            if writer.proc.poll() is None:
                writer.kill()
    recover(initialized_repo, mission.path)
    total, torn = check(mission.path, reported, lock)
    assert not torn and total >= len(reported)
    print(f"kills that left a torn tail: {torn_seen} of {LARGE_ROUNDS}")
    parsed = parse_log_strict((mission.path / "status.events.jsonl").read_bytes(), "log")
    assert event_log.load_snapshot(project, Mission(mission.path)) == reduce_log(
        parsed, mission_slug=mission.slug, mission_type="software-dev")
