"""A status-log writer for the crash test: appends forever, reports each durable batch.

Usage: python crash_writer.py PROJECT_ROOT MISSION_DIR TAG
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from spec_kitty.repo import event_log
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.services import events_factory


def main() -> None:
    project = ProjectPaths(Path(sys.argv[1]))
    mission = Mission(Path(sys.argv[2]))
    tag = sys.argv[3]
    rng = random.Random()
    count = 0
    while True:
        batch = []
        for _ in range(rng.randint(1, 3)):
            count += 1
            batch.append(events_factory.annotation_row(
                wp_id=f"WP0{rng.randint(1, 3)}", at=f"2026-11-01T10:00:00.{count:06d}+00:00",
                actor=tag, delta={"note": f"{tag}-{count}" + "x" * rng.randint(0, 3000)}))
        with event_log.status_lock(project, mission):
            event_log.append_rows(mission, batch)
            if count % 10 == 0:
                event_log.materialize(None, mission)
        # Only now is the batch durable and reported.
        sys.stdout.write(" ".join(row["event_id"] for row in batch) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
