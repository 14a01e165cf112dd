"""Read and append ``status.events.jsonl``; materialize ``status.json``.

Writers serialise on a lock file in the git common dir, so every worktree of the
repository shares it. An append is one ``write(2)`` at the end of the log
(``O_APPEND``) followed by ``fsync``, under the lock: its cost does not depend on
the log's size. It is validated against, and then folded into, the cached fold of
the log (:mod:`spec_kitty.repo.status.log_cache`), which is stored again under the log's
new stat key; nothing re-reads the log.

A writer killed mid-``write(2)`` can leave a *torn tail*: whole new lines followed
by part of one, with no newline. Every whole line is a complete event. Readers
treat the unterminated fragment as an unfinished write (not data, not an error;
``agent status validate`` reports it), and the next writer, holding the lock,
cuts it before appending. A final line without a newline that *is* complete JSON
is data: the next writer terminates it instead. Appends keep the log's line-ending
style (CRLF logs stay CRLF).
"""

from __future__ import annotations

import contextlib
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.status.events import (
    PROBLEM,
    EventLogError,
    ParsedLog,
    is_torn,
    parse_line,
    parse_log,
    parse_log_strict,
    serialize_row,
)
from spec_kitty.core.status.reducer import LogFold, reduce_log
from spec_kitty.repo.atomic import write_if_changed
from spec_kitty.repo.jsonio import dumps_pretty
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import log_cache
from spec_kitty.repo.status.log_cache import READER, WRITER, CachedLog
from spec_kitty.repo.status.log_stream import crc_range, stream_fold

LOCK_TIMEOUT_SECONDS = 60.0


class StatusLockTimeout(SpecKittyError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Timed out waiting for the status lock {path} (another spec-kitty command "
            "is writing this mission's status).",
            "STATUS_LOCK_TIMEOUT",
        )


def _unreadable(path: Path, exc: OSError) -> SpecKittyError:
    return SpecKittyError(f"Cannot read {path}: {exc.strerror}", "EVENT_LOG_UNREADABLE")


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise _unreadable(path, exc) from None


def read_log(mission: Mission) -> ParsedLog:
    """Every row of the mission's log in memory, strictly parsed; a missing log is empty.

    For code that needs the rows themselves; snapshots come from :func:`current_state`.
    """
    return parse_log_strict(read_bytes(mission.events_file), str(mission.events_file))


def read_log_lenient(mission: Mission) -> ParsedLog:
    return parse_log(read_bytes(mission.events_file))


def snapshot_of(mission: Mission, parsed: ParsedLog) -> dict[str, Any]:
    return reduce_log(parsed, mission_slug=mission.slug,
                      mission_number=mission.mission_number, mission_type=mission.mission_type)


@dataclass
class LogState:
    """The folded log of one mission: its snapshot and the newest ``at`` in it."""

    mission: Mission
    fold: LogFold

    @property
    def latest_at(self) -> str | None:
        return self.fold.latest_at

    def last_transition(self, wp_id: str) -> dict[str, Any] | None:
        """``{reason, actor, at}`` of the move that put ``wp_id`` in its lane, or None."""
        return self.fold.last_transition(wp_id)

    @property
    def snapshot(self) -> dict[str, Any]:
        """status.json's content (a new dict on every access)."""
        return self.fold.snapshot(mission_number=self.mission.mission_number,
                                  mission_type=self.mission.mission_type,
                                  fallback_slug=self.mission.slug)


def _catch_up_torn(project: ProjectPaths, mission: Mission, fd: int,
                   st: os.stat_result) -> CachedLog | None:
    """The writer entry, if the log only grew by an unfinished write since it was stored."""
    entry = log_cache.read_entry(project, mission, WRITER)
    if (entry is None or entry.torn_tail is not None or entry.data_end != entry.size
            or entry.key[:2] != [st.st_dev, st.st_ino] or st.st_size <= entry.size):
        return None
    gap = os.pread(fd, st.st_size - entry.size, entry.size)
    if b"\n" in gap or not is_torn(gap) or crc_range(fd, 0, entry.size) != entry.crc:
        return None
    return log_cache.new_entry(
        entry.fold, st, crc=zlib.crc32(gap, entry.crc), data_end=entry.data_end,
        data_crc=entry.data_crc, lines=entry.lines, line_ending=entry.line_ending,
        torn_tail=entry.lines + 1, stored_ns=time.time_ns())


def _cold_read(project: ProjectPaths | None, mission: Mission, fd: int,
               st: os.stat_result) -> CachedLog:
    """Stream and fold the whole log (strict); cache the result when it is stable."""
    started = time.time_ns()
    result = stream_fold(fd)
    if result.problems:
        raise EventLogError(str(mission.events_file), result.problems)
    entry = log_cache.new_entry(
        result.fold, st, crc=result.crc, data_end=result.data_end, data_crc=result.data_crc,
        lines=result.lines, line_ending=result.line_ending, torn_tail=result.torn_tail,
        stored_ns=started)
    unchanged = log_cache.stat_key(os.fstat(fd)) == entry.key and result.size == st.st_size
    if project is not None and unchanged:
        log_cache.store_entry(project, mission, READER, entry)
    return entry


def _entry(project: ProjectPaths | None, mission: Mission, fd: int) -> CachedLog:
    st = os.fstat(fd)
    if project is not None:
        entry = log_cache.trusted_entry(project, mission, fd, st)
        if entry is None:
            entry = _catch_up_torn(project, mission, fd, st)
        if entry is not None:
            return entry
    return _cold_read(project, mission, fd, st)


def current_state(project: ProjectPaths | None, mission: Mission) -> LogState:
    """The folded log, from the cache when it provably matches the log (see log_cache).

    ``project=None`` neither reads nor writes the cache. Raises
    :class:`~spec_kitty.core.status.events.EventLogError` for a log with unreadable lines
    (a torn final line is not one) and ``EVENT_LOG_UNREADABLE`` when it cannot be opened.
    """
    try:
        fd = os.open(mission.events_file, os.O_RDONLY)
    except FileNotFoundError:
        return LogState(mission, LogFold())
    except OSError as exc:
        raise _unreadable(mission.events_file, exc) from None
    try:
        return LogState(mission, _entry(project, mission, fd).fold)
    finally:
        os.close(fd)


def load_snapshot(project: ProjectPaths | None, mission: Mission) -> dict[str, Any]:
    """The reduced snapshot of the mission's log (status.json's content)."""
    return current_state(project, mission).snapshot


def snapshot_bytes(snapshot: dict[str, Any]) -> bytes:
    return dumps_pretty(snapshot).encode("utf-8")


def materialize(project: ProjectPaths | None, mission: Mission) -> tuple[dict[str, Any], bool]:
    """Rewrite status.json from the log; only touches the file when its bytes change.

    A mission without lane transitions gets no status.json (one already there is
    still kept in step with the log).
    """
    snapshot = load_snapshot(project, mission)
    path = mission.snapshot_file
    if snapshot["event_count"] == 0 and not path.exists():
        return snapshot, False
    return snapshot, write_if_changed(path, snapshot_bytes(snapshot))


@contextlib.contextmanager
def status_lock(project: ProjectPaths, mission: Mission) -> Iterator[None]:
    """Exclusive per-mission writer lock shared by all worktrees of the repository."""
    from filelock import FileLock, Timeout

    lock_dir = project.lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock_path = lock_dir / f"{mission.slug}.status.lock"
    lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise StatusLockTimeout(lock_path) from None
    try:
        yield
    finally:
        lock.release()


def _remove_stale_temp_files(path: Path) -> None:
    # Only called under the lock: a temp file for this log is a leftover of a writer
    # from before appends were made in place.
    prefix = f".{path.name}."
    for leftover in path.parent.glob(f"{prefix}*.tmp"):
        with contextlib.suppress(OSError):
            os.unlink(leftover)


def _scan_tail(fd: int, size: int) -> tuple[int, bytes, str]:
    """(offset after the last newline, bytes after it, line ending of the last line)."""
    pieces: list[bytes] = []
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        block = os.pread(fd, pos - start, start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            before = block[cut - 1 : cut] if cut else os.pread(fd, 1, start - 1) if start else b""
            fragment = block[cut + 1 :] + b"".join(reversed(pieces))
            return start + cut + 1, fragment, "\r\n" if before == b"\r" else "\n"
        pieces.append(block)
        pos = start
    return 0, b"".join(reversed(pieces)), "\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def append_rows(mission: Mission, rows: list[dict[str, Any]],
                project: ProjectPaths | None = None) -> None:
    """Append ``rows`` at the end of the log. The caller must hold :func:`status_lock`.

    A torn tail left by a killed writer is cut first; an unterminated complete last
    line is terminated. With ``project``, the cached fold is updated in place (the
    cost is independent of the log's size when the cache holds the log's fold); it
    assumes each row has a new ``event_id`` (rows from ``services.events_factory``
    carry fresh ULIDs), since the cached fold keeps no ids to deduplicate against.
    """
    path = mission.events_file
    _remove_stale_temp_files(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        st = os.fstat(fd)
        entry = None
        if project is not None:
            entry = log_cache.trusted_entry(project, mission, fd, st) or _catch_up_torn(
                project, mission, fd, st)
        if entry is not None:
            data_end, ending = entry.data_end, entry.line_ending
            fragment = os.pread(fd, st.st_size - data_end, data_end)
        else:
            data_end, fragment, ending = _scan_tail(fd, st.st_size)
        torn = bool(fragment) and is_torn(fragment)
        lines = [serialize_row(row, ending).encode("utf-8") for row in rows]
        payload = (ending.encode() if fragment and not torn else b"") + b"".join(lines)
        if not torn and not lines:
            return
        if torn:
            os.ftruncate(fd, data_end)
        _write_all(fd, payload)
        os.fsync(fd)
        if entry is not None and project is not None:
            _store_after_append(project, mission, fd, entry, lines, payload,
                                terminated=bool(fragment) and not torn)
    finally:
        os.close(fd)


def _store_after_append(project: ProjectPaths, mission: Mission, fd: int, entry: CachedLog,
                        lines: list[bytes], payload: bytes, *, terminated: bool) -> None:
    """Fold the appended lines into ``entry`` and store it under the log's new key."""
    fold = entry.fold
    known: set[str] = set()
    touched: set[str] = set()
    for line in lines:
        kind, row = parse_line(line.rstrip(b"\r\n"), known)
        if kind == PROBLEM:
            log_cache.drop_entry(project, mission, WRITER)
            return
        fold.add(kind, row)
        touched.add(row.get("wp_id"))
    if any(fold.wps[wp].disordered for wp in touched if wp in fold.wps):
        log_cache.drop_entry(project, mission, WRITER)  # not in replay order: refold later
        return
    base = entry.crc if terminated else entry.data_crc
    crc = zlib.crc32(payload, base)
    st, marked = log_cache.mark_written(fd)
    log_cache.store_entry(project, mission, WRITER, log_cache.new_entry(
        fold, st, crc=crc, data_end=st.st_size, data_crc=crc,
        lines=entry.lines + len(lines) + (1 if terminated else 0),
        line_ending=entry.line_ending, torn_tail=None, stored_ns=time.time_ns(),
        marker=marked))
