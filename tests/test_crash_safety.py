"""SIGKILL writers at random points while 8 processes append: nothing torn, nothing lost."""

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

from spec_kitty.core.events import parse_log_strict

from missions_fixture import make_mission

WRITERS = 8
ROUNDS = 200
WRITER = Path(__file__).with_name("crash_writer.py")


class Writer:
    def __init__(self, root: Path, mission_dir: Path, tag: str, reported: set[str],
                 lock: threading.Lock) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(root), str(mission_dir), tag],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.reader = threading.Thread(target=self._collect, args=(reported, lock), daemon=True)
        self.reader.start()

    def _collect(self, reported: set[str], lock: threading.Lock) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with lock:
                reported.update(line.split())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=10)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        assert "Traceback" not in err, err


def check(mission_dir: Path, reported: set[str], lock: threading.Lock) -> int:
    with lock:
        expected = set(reported)  # reported before this read started
    data = (mission_dir / "status.events.jsonl").read_bytes()
    parsed = parse_log_strict(data, "status.events.jsonl")  # raises on any torn line
    assert data == b"" or data.endswith(b"\n")
    present = {row["event_id"] for row in parsed.annotations}
    missing = expected - present
    assert not missing, f"{len(missing)} reported events lost"
    snapshot = mission_dir / "status.json"
    if snapshot.exists():
        json.loads(snapshot.read_text())  # never a half-written snapshot
    return len(present)


@pytest.mark.slow
def test_sigkill_during_concurrent_appends_never_tears_or_loses(initialized_repo: Path) -> None:
    mission = make_mission(initialized_repo)
    rng = random.Random(1234)
    reported: set[str] = set()
    lock = threading.Lock()
    writers = [Writer(initialized_repo, mission.path, f"w{i}", reported, lock)
               for i in range(WRITERS)]
    try:
        time.sleep(0.5)
        for round_no in range(ROUNDS):
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
    total = check(mission.path, reported, lock)
    assert len(reported) > ROUNDS  # the writers really were writing
    assert total >= len(reported)
    # The next writer removes temp files left by killed ones.
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from pathlib import Path\n"
         "from spec_kitty.repo import event_log\n"
         "from spec_kitty.repo.missions import Mission\n"
         "from spec_kitty.repo.paths import ProjectPaths\n"
         "m = Mission(Path(sys.argv[2]))\n"
         "with event_log.status_lock(ProjectPaths(Path(sys.argv[1])), m):\n"
         "    event_log.append_rows(m, [])\n",
         str(initialized_repo), str(mission.path)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert [p for p in os.listdir(mission.path) if p.startswith(".status.events")] == []
