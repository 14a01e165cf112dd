"""Real sync daemons for tests: find them by their runtime root, wait for them, and kill
every one a test started (the ``daemons`` fixture), so no test leaks a process."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import owner
from spec_kitty.sync.daemon.owner import process_gone

T = TypeVar("T")


def daemon_pids(root: Path) -> list[int]:
    """PIDs of live daemon processes started for the runtime root ``root``."""
    wanted = ["-m", "spec_kitty.sync.daemon", "--root", str(root)]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if all(part in argv for part in wanted) and argv[argv.index("--root") + 1] == str(
                root) and not process_gone(int(entry.name), None):
            found.append(int(entry.name))
    return sorted(found)


def wait_for(condition: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Poll ``condition`` until it returns something truthy (bounded; never timed)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def kill_all(root: Path) -> None:
    for pid in daemon_pids(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not daemon_pids(root), "the daemons to die", 30)


def record(root: Path) -> owner.OwnerRecord | None:
    try:
        return owner.read(RuntimePaths(root))
    except owner.OwnerRecordError:
        return None


def log_text(root: Path) -> str:
    path = owner.daemon_dir(RuntimePaths(root)) / "daemon.log"
    return path.read_text(errors="replace") if path.exists() else ""


class Daemons:
    """Runtime roots whose daemons are killed at teardown."""

    def __init__(self) -> None:
        self.roots: list[Path] = []

    def watch(self, root: Path) -> Path:
        self.roots.append(root)
        return root

    def cleanup(self) -> None:
        for root in self.roots:
            kill_all(root)


@pytest.fixture
def daemons(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemons]:
    """Lets daemons start (unsets SPEC_KITTY_SYNC_DISABLE) and kills them afterwards."""
    monkeypatch.delenv("SPEC_KITTY_SYNC_DISABLE", raising=False)
    tracker = Daemons()
    tracker.watch(Path(os.environ["SPEC_KITTY_HOME"]))
    try:
        yield tracker
    finally:
        tracker.cleanup()


def old_install(directory: Path, version: str) -> dict[str, str]:
    """A second, real install of spec-kitty: a copy of the ``spec_kitty`` package under
    ``directory`` whose ``__version__`` is ``version``; returns the environment that makes
    the CLI (and every daemon it spawns) import it (same interpreter, own source checkout)."""
    import re
    import shutil

    import spec_kitty

    source = Path(spec_kitty.__file__).resolve().parent
    target = directory / "spec_kitty"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    init = target / "__init__.py"
    init.write_text(re.sub(r'^__version__ = .*$', f'__version__ = "{version}"',
                           init.read_text(encoding="utf-8"), count=1, flags=re.M),
                    encoding="utf-8")
    return {"PYTHONPATH": str(directory)}
