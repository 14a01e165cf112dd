"""Cheap change detection for the read model: ``os.stat`` fingerprints and a cache.

Status appends grow the log in place (``O_APPEND``), so each one changes its size
and times; every other writer replaces files through a temp file and
``os.replace`` (a new inode). Size, mtime, ctime and inode together therefore
change on every write spec-kitty makes. Comparing them costs one ``stat`` per file
per request, which is what keeps ``/api/missions`` fast over hundreds of missions.
(A same-size hand edit within one filesystem-timestamp tick can go unseen until the
next change: fine for a live view; status commands use the snapshot cache, which
proves content, see docs/status-model.md.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Hashable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Stamp = tuple[Any, ...]


def file_stamp(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def files_stamp(paths: list[Path]) -> Stamp:
    return tuple((path.name, file_stamp(path)) for path in paths)


class StampedCache:
    """Values computed from files, reused while the files' stamp is unchanged.

    Requests run on a thread pool; the lock only guards the dict. Two threads may
    compute the same value at once, which costs time but never correctness.
    """

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[Stamp, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: Stamp, compute: Callable[[], T]) -> T:
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] == stamp:
            return entry[1]
        value = compute()
        with self._lock:
            self._entries[key] = (stamp, value)
        return value

    def keep_only(self, keys: Collection[Hashable]) -> None:
        """Forget entries for missions that no longer exist."""
        with self._lock:
            for key in [k for k in self._entries if k not in keys]:
                del self._entries[key]
