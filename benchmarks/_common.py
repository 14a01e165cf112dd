"""Shared helpers for the benchmark scripts: whole-process timing, peak RSS, tidy output."""

from __future__ import annotations

import json
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


_RUNNER = r"""
import json, os, sys, time
for line in sys.stdin:
    argv, cwd, env, err = json.loads(line)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    print(json.dumps([elapsed, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status),
                      usage.ru_utime + usage.ru_stime]), flush=True)
"""


class Runner:
    """Runs whole processes and reports (wall-clock s, peak RSS in bytes, CPU s) for each.

    The peak comes from wait4(2)'s rusage of that very child. A child inherits, as its
    starting ru_maxrss, the resident size of the process that forked it, so commands are
    forked by this small helper process, never by a benchmark that holds big test data.
    Start it before generating data.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _RUNNER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.err = Path(os.environ.get("TMPDIR", "/tmp")) / f"sk-bench-{os.getpid()}.err"

    def run(self, argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
            ) -> tuple[float, int, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = [list(argv), str(cwd), {**os.environ, **(env or {})}, str(self.err)]
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        elapsed, rss, code, cpu = json.loads(self.proc.stdout.readline())
        if code != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({code}): {self.err.read_text()}")
        return elapsed, rss, cpu

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()
        self.err.unlink(missing_ok=True)
