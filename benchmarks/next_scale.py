"""`spec-kitty next --json` on a mission with 50 WPs and 20,000 events.

Budget: whole-process median <= 0.15 s (query mode, which writes nothing).
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

from _common import CLI, report, time_command
from _generate import make_mission, make_project


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sk-bench-next-") as tmp:
        project = make_project(Path(tmp) / "big")
        mission = make_mission(project, 1, wp_count=50, event_count=20_000,
                               rng=random.Random(11))
        print("== next at scale")
        argv = [CLI, "next", "--agent", "claude", "--mission", mission.name, "--json"]
        ok = report("next --json (query; 50 WPs, 20k events)",
                    time_command(argv, cwd=project), budget=0.15)
        report("next --result success --json (writes the prompt file)",
               time_command([*argv, "--result", "success"], cwd=project, runs=10))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
