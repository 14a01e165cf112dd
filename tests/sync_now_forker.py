"""`spec-kitty sync now --json` in forked children of one process that has already
imported the CLI, for the kill -9 test: a round then costs the drain, not the CLI's
start-up (~0.3-0.5 s of imports per process here, which would dominate 100 rounds).

Each child is a complete run of the CLI's entry point (``spec_kitty.cli.main.main``) in
its own process, with the project as working directory and the member's environment; it
is what receives the SIGKILL. Imports done before the fork are the only difference from
a fresh ``spec-kitty`` process, and a kill during imports writes nothing anyway.

Protocol (one child at a time), as a script: ``python sync_now_forker.py CWD STDERR_LOG``;
each line ``run`` on stdin forks a child and answers ``pid N``; when the child ends the
answer is ``exit CODE`` (negative: killed by that signal). Children's stdout is
discarded; their stderr is appended to ``STDERR_LOG``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

# What `sync now` imports lazily, imported once here (a module missing from this list
# only makes the children slower).
WARM = ("spec_kitty.cli.app", "spec_kitty.sync.now", "spec_kitty.sync.batch",
        "spec_kitty.sync.drain", "spec_kitty.sync.emitter", "spec_kitty.sync.documents",
        "spec_kitty.sync.context", "spec_kitty.auth.transport", "spec_kitty.auth.storage",
        "spec_kitty.hosted.readiness", "spec_kitty.hosted.gate", "httpx")


def _child(cwd: str, log: str) -> None:
    from spec_kitty.cli.main import main

    os.chdir(cwd)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), 2)
    code = 1
    try:
        code = main(["sync", "now", "--json"])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(cwd: str, log: str) -> None:
    import importlib

    for name in WARM:
        importlib.import_module(name)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            continue
        pid = os.fork()
        if pid == 0:
            _child(cwd, log)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


class ForkedSync:
    """One forked `sync now`: ``poll()``, ``send_signal()``, ``wait()`` like a Popen."""

    def __init__(self, forker: SyncForker, pid: int) -> None:
        self.forker, self.pid = forker, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.forker.exit_code(timeout=0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                os.kill(self.pid, sig)

    def wait(self, timeout: float = 120) -> int:
        if self.returncode is None:
            self.returncode = self.forker.exit_code(timeout=timeout)
        assert self.returncode is not None, f"sync now (pid {self.pid}) did not end"
        return self.returncode


class SyncForker:
    """The forking process for one member (``cwd``: their repository; ``env``: theirs)."""

    def __init__(self, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(cwd), str(log)], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._pending = b""  # read but not yet consumed (the pipe is read unbuffered)
        assert self._line(timeout=120) == "ready"

    def _line(self, timeout: float) -> str | None:
        """The next answer line, or None when none arrived within ``timeout`` seconds."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            assert chunk, f"the forker died (exit {self.proc.poll()})"
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode().strip()

    def exit_code(self, timeout: float) -> int | None:
        line = self._line(timeout)
        if line is None:
            return None
        assert line.startswith("exit "), line
        return int(line.split()[1])

    def run(self) -> ForkedSync:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = self._line(timeout=60)
        assert line is not None and line.startswith("pid "), line
        return ForkedSync(self, int(line.split()[1]))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
