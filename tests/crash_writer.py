"""A status-log writer for the crash tests: appends forever, reports each durable batch.

Usage: python crash_writer.py PROJECT_ROOT MISSION_DIR TAG [--large]

Default: batches of 1-3 annotations with notes of up to 3 KB, appended without the
snapshot cache. ``--large``: one annotation per batch carrying 0.5-1.5 MB (so a
SIGKILL often lands inside ``write(2)``), appended through the snapshot cache the way
``move-task`` does, one batch per line read from stdin (the test sets the pace).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.services.status import events_factory


def main() -> None:
    project = ProjectPaths(Path(sys.argv[1]))
    mission = Mission(Path(sys.argv[2]))
    tag = sys.argv[3]
    large = "--large" in sys.argv[4:]
    rng = random.Random()
    count = 0
    while True:
        if large and not sys.stdin.readline():
            return  # the test closed our stdin: stop
        batch = []
        for _ in range(1 if large else rng.randint(1, 3)):
            count += 1
            if large:  # a field the reducer ignores: the row is big, the snapshot is not
                delta = {"agent": f"{tag}-{count}", "blob": "x" * rng.randint(1 << 19, 3 << 19)}
            else:
                delta = {"note": f"{tag}-{count}" + "x" * rng.randint(0, 3000)}
            batch.append(events_factory.annotation_row(
                wp_id=f"WP0{rng.randint(1, 3)}", at=f"2026-11-01T10:00:00.{count:06d}+00:00",
                actor=tag, delta=delta))
        with event_log.status_lock(project, mission):
            if large:
                stamps = events_factory.stamps_after(event_log.current_state(project, mission),
                                                     len(batch))
                for row, at in zip(batch, stamps, strict=True):
                    row["at"] = at
                event_log.append_rows(mission, batch, project)
            else:
                event_log.append_rows(mission, batch)
            if count % 10 == 0:
                event_log.materialize(project if large else None, mission)
        # Only now is the batch durable and reported.
        sys.stdout.write(" ".join(row["event_id"] for row in batch) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
