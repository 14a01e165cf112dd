"""The machine's Lamport clock and node id, safe across processes.

``<runtime>/clock.json`` holds ``{"value", "node_id", "updated_at"}`` (reference §7).
Unlike the reference, every read-modify-write happens under ``<runtime>/clock.lock``
(``filelock``), so two processes ticking at once never hand out the same value
(reference §(b), "known gaps"). :meth:`LamportClock.tick` can reserve a block of
values in one locked step, which is how a batch enqueue stays fast.

``node_id`` is stable per machine and user: the first 12 hex characters of
SHA-256 of ``"<hostname>:<user>"``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from spec_kitty.hosted.runtime import RuntimePaths, ensure_private_dir

LOCK_TIMEOUT_SECONDS = 10.0


def machine_node_id() -> str:
    """12 hex characters identifying this machine and user (not reversible)."""
    try:
        user = getpass.getuser()
    except Exception:  # getuser raises several error types when no name is known
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return hashlib.sha256(f"{socket.gethostname()}:{user}".encode()).hexdigest()[:12]


class LamportClock:
    """One clock per runtime root; every method takes the cross-process lock."""

    def __init__(self, paths: RuntimePaths | None = None) -> None:
        self.paths = paths or RuntimePaths.current()
        self.file: Path = self.paths.root / "clock.json"
        self.lock_file: Path = self.paths.root / "clock.lock"

    def _read(self) -> int:
        try:
            data = json.loads(self.file.read_bytes())
            value = data.get("value") if isinstance(data, dict) else None
        except (OSError, ValueError):
            return 0  # absent or corrupt: start again from 0 (reference §7)
        return value if isinstance(value, int) and value >= 0 else 0

    def _write(self, value: int) -> None:
        record = {"value": value, "node_id": machine_node_id(),
                  "updated_at": datetime.now(UTC).isoformat()}
        temp = self.file.with_name(f".clock.{os.getpid()}.tmp")
        temp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temp, self.file)

    def _lock(self) -> FileLock:
        ensure_private_dir(self.paths.root)
        return FileLock(str(self.lock_file), timeout=LOCK_TIMEOUT_SECONDS, mode=0o600)

    def tick(self, count: int = 1) -> int:
        """Reserve ``count`` consecutive values and return the first one.

        The values handed out are ``first .. first + count - 1``; no other process
        receives any of them. Raises ``ValueError`` for ``count < 1`` and
        ``filelock.Timeout`` when the lock is held for more than 10 s.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock():
            first = self._read() + 1
            self._write(first + count - 1)
        return first

    def receive(self, remote: int) -> int:
        """Merge a value seen elsewhere: the clock becomes ``max(local, remote) + 1``."""
        with self._lock():
            value = max(self._read(), remote) + 1
            self._write(value)
        return value

    def current(self) -> int:
        """The last value handed out (0 before the first tick); no lock, read only."""
        return self._read()
