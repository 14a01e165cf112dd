"""Issue 16's table: status writes and reads at scale, as ratios to a 2k-event baseline.

Every figure is a whole process (`spec-kitty ...` as an agent runs it) with its median
and fastest wall-clock time, median CPU time (user + system, children included: what a
busy, shared machine inflates least) and peak RSS (wait4), printed next to the same
command on a 2,000-event mission measured in the same run, so growth shows even on a
noisy machine:

- `agent tasks move-task` with a warm snapshot cache, at 2k / 20k / 100k / 1M events
  (goal: flat, <= 0.25 s and <= 40 MiB at every size); these projects are not git
  repositories, so one more line shows the 2k move in a git repository, where each move
  also commits the status files (agents.auto_commit, on by default);
- cold `agent tasks status --json` (cache dropped before each run) at 200k events
  (goal: <= 1.5 s, <= 60 MiB);
- warm `agent tasks status --json` and `next --json` at 50 WPs / 20k events (goal: <= 0.15 s);
- `status --all` as a rich table against `--json` over 412 missions (goal: <= 1.5x).

All missions have 50 WPs; logs are generated in the on-disk format (benchmarks/_generate.py).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CLI, Runner, report, time_command
from _generate import make_mission, make_project

MIB = 1 << 20
Sample = tuple[float, int, float]  # wall-clock s, peak RSS bytes, CPU s
BASE = 2_000
# SK_BENCH_MAX_EVENTS caps the sizes (e.g. to measure a slower, older build).
MAX = int(os.environ.get("SK_BENCH_MAX_EVENTS", "1000000"))
MOVE_SIZES = tuple(n for n in (2_000, 20_000, 100_000, 1_000_000) if n <= MAX)
COLD = min(200_000, MAX)
WARM = 20_000


class Figures:
    def __init__(self) -> None:
        self.ok = True

    def line(self, label: str, samples: list[Sample], base: list[Sample] | None,
             goal_s: float | None = None, goal_mib: float | None = None) -> None:
        secs = statistics.median(s[0] for s in samples)
        fastest = min(s[0] for s in samples)
        rss = max(s[1] for s in samples) / MIB
        cpu = statistics.median(s[2] for s in samples)
        text = (f"{label:44} {secs:6.3f} s (min {fastest:5.3f}, cpu {cpu:5.3f}) "
                f"{rss:5.1f} MiB")
        if base is not None:
            base_s = statistics.median(s[0] for s in base)
            base_rss = max(s[1] for s in base) / MIB
            text += f"  x{secs / base_s:5.2f} time x{rss / base_rss:4.2f} RSS of 2k"
        verdicts = []
        if goal_s is not None:
            verdicts.append(f"<= {goal_s} s {'OK' if secs <= goal_s else 'OVER'}")
            self.ok &= secs <= goal_s
        if goal_mib is not None:
            verdicts.append(f"<= {goal_mib:.0f} MiB {'OK' if rss <= goal_mib else 'OVER'}")
            self.ok &= rss <= goal_mib
        print(text + ("   goal " + ", ".join(verdicts) if verdicts else ""))


def _cli(*args: str) -> list[str]:
    return [CLI, *args]


def _drop_cache(root: Path) -> None:
    for item in (root / ".kittify" / "runtime" / "cache").glob("*.json"):
        item.unlink()


def _moves(runner: Runner, root: Path, slug: str, runs: int) -> list[Sample]:
    """move-task WP07 back and forth (blocked <-> in_progress), cache warm; first run not timed."""
    base = ["agent", "tasks", "move-task", "WP07", "--mission", slug, "--actor", "bench", "--json"]
    runner.run(_cli(*base, "--to", "blocked", "--force", "--reason", "bench"), cwd=root)
    samples = []
    for index in range(runs):
        target = ["--to", "in_progress"] if index % 2 == 0 else ["--to", "blocked"]
        samples.append(runner.run(_cli(*base, *target), cwd=root))
    return samples


def _reads(runner: Runner, root: Path, argv: list[str], runs: int,
           cold: bool = False) -> list[Sample]:
    if not cold:
        runner.run(argv, cwd=root)  # warm the cache
    samples = []
    for _ in range(runs):
        if cold:
            _drop_cache(root)
        samples.append(runner.run(argv, cwd=root))
    return samples


def _git_project(path: Path) -> tuple[Path, str]:
    """A git repository with one committed 2k-event mission: what users really have."""
    root = make_project(path)
    slug = make_mission(root, 0, wp_count=50, event_count=BASE, rng=random.Random(BASE)).name
    for argv in (["init", "-q", "-b", "main"], ["config", "user.name", "bench"],
                 ["config", "user.email", "bench@example.com"], ["add", "-A"],
                 ["commit", "-qm", "missions"]):
        subprocess.run(["git", *argv], cwd=root, check=True)
    return root, slug


def main() -> int:
    figures = Figures()
    runner = Runner()  # before any data exists: see Runner
    try:
        return _main(runner, figures)
    finally:
        runner.close()


def _main(runner: Runner, figures: Figures) -> int:
    with tempfile.TemporaryDirectory(prefix="sk-bench-status-") as tmp:
        root = make_project(Path(tmp) / "big")
        started = time.perf_counter()
        slugs = {size: make_mission(root, index, wp_count=50, event_count=size,
                                    rng=random.Random(size)).name
                 for index, size in enumerate(sorted({*MOVE_SIZES, COLD, WARM}))}
        print(f"== status at scale (logs generated in {time.perf_counter() - started:.0f} s)")

        def status(size: int) -> list[str]:
            return _cli("agent", "tasks", "status", "--mission", slugs[size], "--json")

        def nxt(size: int) -> list[str]:
            return _cli("next", "--agent", "claude", "--mission", slugs[size], "--json")

        base = _moves(runner, root, slugs[BASE], 10)
        figures.line("move-task, 2k events (baseline)", base, None, 0.25, 40)
        for size in MOVE_SIZES[1:]:
            figures.line(f"move-task, {size // 1000}k events",
                         _moves(runner, root, slugs[size], 10), base, 0.25, 40)
        figures.line("move-task, 2k, in git (status auto-commit)",
                     _moves(runner, *_git_project(Path(tmp) / "git"), 10), base)
        cold_base = _reads(runner, root, status(BASE), 5, cold=True)
        figures.line("cold agent tasks status --json, 2k", cold_base, None)
        figures.line(f"cold agent tasks status --json, {COLD // 1000}k",
                     _reads(runner, root, status(COLD), 3, cold=True), cold_base, 1.5, 60)
        warm_base = _reads(runner, root, status(BASE), 20)
        figures.line("warm agent tasks status --json, 2k", warm_base, None)
        figures.line(f"warm agent tasks status --json, {WARM // 1000}k",
                     _reads(runner, root, status(WARM), 20), warm_base, 0.15)
        next_base = _reads(runner, root, nxt(BASE), 20)
        figures.line("warm next --json, 2k", next_base, None)
        figures.line(f"warm next --json, {WARM // 1000}k", _reads(runner, root, nxt(WARM), 20),
                     next_base, 0.15)
        many = make_project(Path(tmp) / "many")
        rng = random.Random(7)
        for index in range(412):
            make_mission(many, index, wp_count=5, event_count=60, rng=rng)
        # Interleaved, so a change in the machine's load hits both sides alike.
        as_json: list[Sample] = []
        table: list[Sample] = []
        for _ in range(10):
            as_json.append(runner.run(_cli("status", "--all", "--json"), cwd=many))
            table.append(runner.run(_cli("status", "--all"), cwd=many, env={"COLUMNS": "160"}))
        figures.line("status --all --json (412 missions x 60 events)", as_json, None, 1.0)
        figures.line("status --all, rich table", table, None)
        ratio = statistics.median(s[0] for s in table) / statistics.median(s[0] for s in as_json)
        cpu_ratio = (statistics.median(s[2] for s in table)
                     / statistics.median(s[2] for s in as_json))
        print(f"{'  rich table / --json':44} x{ratio:.2f} wall, x{cpu_ratio:.2f} cpu   "
              f"goal <= 1.5x {'OK' if ratio <= 1.5 else 'OVER (rendering: cli/render_board.py)'}")
        figures.ok &= ratio <= 1.5
        report("status (rich board, 20k events)",
               time_command(_cli("status", "--mission", slugs[WARM]), cwd=root, runs=10))
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
