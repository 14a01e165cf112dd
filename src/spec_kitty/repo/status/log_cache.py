"""The snapshot cache: a log's fold, reused only while it provably describes the log.

An entry (``.kittify/runtime/cache/<mission>.{writer,reader}.json``) holds the
fold of the log (per-WP state, see :mod:`spec_kitty.core.status.reducer`), the stat key of
the log it was computed from (device, inode, size, mtime, ctime, all in ns), the
CRC-32 of its bytes, the offset after its last newline and its line-ending style.

The stat key alone cannot prove the content unchanged: timestamps are coarse (a
kernel tick, or 1–2 s on some filesystems), so a same-size rewrite within the same
tick keeps every stat field. Two rules, after git's "racily clean" index entries:

* **reader entries** (stored after a cold read) are trusted on a stat match only if
  the log's mtime and ctime were safely older than the moment its bytes were read
  (:data:`RACY_WINDOW_NS`); otherwise the whole log's CRC is checked against the
  entry before it is used.
* **writer entries** (stored under the status lock right after an append, with the
  CRC computed from the previous CRC and the appended bytes) set the log's mtime to
  one nanosecond before the time the append produced. No later write can produce an
  mtime that old, so any later change moves the mtime away from the recorded one and
  a stat match is proof. (A rewrite that also puts the marked mtime back moves the
  ctime instead, unless it lands in the same filesystem-timestamp tick as the append:
  milliseconds, on kernels with coarse timestamps, for a tool copying that exact
  mtime.) Where the filesystem does not keep that mtime, the entry is treated like a
  reader entry.

The cache is an accelerator only: a missing, unreadable or untrusted entry means
folding the log again, never a wrong answer.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from spec_kitty.core.status.reducer import LogFold
from spec_kitty.repo.atomic import write_bytes_atomic
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status.log_stream import crc_range

CACHE_VERSION = 5  # 5: WP1 rows are folded into WP01 (older caches may hold a WP1)
# Longer than any filesystem's timestamp granularity (FAT: 2 s) plus clock slack.
RACY_WINDOW_NS = 3_000_000_000
WRITER, READER = "writer", "reader"


def stat_key(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


@dataclass
class CachedLog:
    """A fold plus everything needed to prove it matches the log and to append to it.

    ``lines`` counts newline-terminated lines before ``data_end``; ``torn_tail`` is
    the line number of an unfinished final write after ``data_end`` (None if none).
    """

    fold: LogFold
    key: list[int]
    crc: int
    data_end: int
    data_crc: int
    lines: int
    line_ending: str
    torn_tail: int | None
    stored_ns: int
    marker: bool = False

    @property
    def size(self) -> int:
        return self.key[2]

    def racy(self) -> bool:
        mtime, ctime = self.key[3], self.key[4]
        return max(mtime, ctime) >= self.stored_ns - RACY_WINDOW_NS

    def to_bytes(self) -> bytes:
        return orjson.dumps({
            "version": CACHE_VERSION, "key": self.key, "crc": self.crc,
            "data_end": self.data_end, "data_crc": self.data_crc, "lines": self.lines,
            "line_ending": self.line_ending, "torn_tail": self.torn_tail,
            "stored_ns": self.stored_ns, "marker": self.marker, "fold": self.fold.to_json(),
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> CachedLog | None:
        try:
            raw = orjson.loads(data)
            if raw.get("version") != CACHE_VERSION:
                return None
            return cls(
                fold=LogFold.from_json(raw["fold"]), key=raw["key"], crc=raw["crc"],
                data_end=raw["data_end"], data_crc=raw["data_crc"], lines=raw["lines"],
                line_ending=raw["line_ending"], torn_tail=raw["torn_tail"],
                stored_ns=raw["stored_ns"], marker=raw["marker"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def entry_path(project: ProjectPaths, mission: Mission, which: str) -> Path:
    return project.runtime_dir / "cache" / f"{mission.slug}.{which}.json"


def read_entry(project: ProjectPaths, mission: Mission, which: str) -> CachedLog | None:
    try:
        data = entry_path(project, mission, which).read_bytes()
    except OSError:
        return None
    return CachedLog.from_bytes(data)


def store_entry(project: ProjectPaths, mission: Mission, which: str, entry: CachedLog) -> None:
    path = entry_path(project, mission, which)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, entry.to_bytes(), fsync=False)


def drop_entry(project: ProjectPaths, mission: Mission, which: str) -> None:
    with contextlib.suppress(OSError):
        entry_path(project, mission, which).unlink()


def trusted_entry(project: ProjectPaths, mission: Mission, fd: int,
                  st: os.stat_result) -> CachedLog | None:
    """The cached fold of the log open as ``fd`` (stat ``st``), if it provably matches."""
    key = stat_key(st)
    for which in (WRITER, READER):
        entry = read_entry(project, mission, which)
        if entry is None or entry.key != key:
            continue
        if entry.marker or not entry.racy():
            return entry
        started = time.time_ns()
        if crc_range(fd, 0, entry.size) == entry.crc:
            if which == READER:
                restamped = CachedLog(**{**entry.__dict__, "stored_ns": started})
                if not restamped.racy():
                    store_entry(project, mission, READER, restamped)
            return entry
    return None


def mark_written(fd: int) -> tuple[os.stat_result, bool]:
    """After an append: set the log's mtime 1 ns back so later writes cannot reproduce it.

    Returns the log's stat afterwards and whether the mark holds (the filesystem kept
    an mtime strictly older than the one the append produced).
    """
    st = os.fstat(fd)
    produced = st.st_mtime_ns
    try:
        os.utime(fd, ns=(st.st_atime_ns, produced - 1))
    except OSError:
        return st, False
    after = os.fstat(fd)
    return after, after.st_mtime_ns < produced


def new_entry(fold: LogFold, st: os.stat_result, **fields: Any) -> CachedLog:
    return CachedLog(fold=fold, key=stat_key(st), **fields)
