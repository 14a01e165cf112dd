"""Shared helpers for the benchmark scripts: whole-process timing, tidy output."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

CLI = str(Path(sys.executable).parent / "spec-kitty")


def time_command(argv: Sequence[str], *, runs: int = 20, cwd: Path | None = None,
                 warmup: int = 2, env: dict[str, str] | None = None,
                 before: Callable[[], None] | None = None) -> list[float]:
    """Wall-clock seconds for ``runs`` executions of a whole process.

    ``before`` runs ahead of every execution, outside the timed span.
    """
    full_env = {**os.environ, **(env or {})}
    samples = []
    for index in range(warmup + runs):
        if before is not None:
            before()
        start = time.perf_counter()
        proc = subprocess.run(list(argv), cwd=cwd, env=full_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()}")
        if index >= warmup:
            samples.append(elapsed)
    return samples


def report(label: str, samples: list[float], budget: float | None = None) -> bool:
    median = statistics.median(samples)
    verdict = ""
    within = True
    if budget is not None:
        within = median <= budget
        verdict = f"  budget {budget:.3f}s  {'OK' if within else 'OVER BUDGET'}"
    print(f"{label:48} median {median:.4f}s  min {min(samples):.4f}s  "
          f"max {max(samples):.4f}s  (n={len(samples)}){verdict}")
    return within
