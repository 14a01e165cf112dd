"""Read and append ``status.events.jsonl``; materialise ``status.json``.

Writers serialise on a lock file in the git common dir, so every worktree of the
repository shares it. Every append rewrites the log through a temp file, fsync and
``os.replace``: a reader, or a writer killed at any instant, sees the old log or
the new one, never a torn line.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.atomic import write_bytes_atomic, write_if_changed
from spec_kitty.repo.jsonio import dumps_pretty
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

if TYPE_CHECKING:
    from spec_kitty.core.events import ParsedLog

# Parsing (orjson) and reducing are imported where they are used: a read served from
# the snapshot cache needs neither, and that is the path agents hit most.

LOCK_TIMEOUT_SECONDS = 60.0


class StatusLockTimeout(SpecKittyError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Timed out waiting for the status lock {path} (another spec-kitty command "
            "is writing this mission's status).",
            "STATUS_LOCK_TIMEOUT",
        )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise SpecKittyError(
            f"Cannot read {path}: {exc.strerror}", "EVENT_LOG_UNREADABLE"
        ) from None


def read_log(mission: Mission) -> ParsedLog:
    """Strictly parse the mission's log; a missing log is an empty one."""
    from spec_kitty.core.events import parse_log_strict

    return parse_log_strict(read_bytes(mission.events_file), str(mission.events_file))


def read_log_lenient(mission: Mission) -> ParsedLog:
    from spec_kitty.core.events import parse_log

    return parse_log(read_bytes(mission.events_file))


def snapshot_of(mission: Mission, parsed: ParsedLog) -> dict[str, Any]:
    from spec_kitty.core.reducer import reduce_log

    return reduce_log(
        parsed,
        mission_slug=mission.slug,
        mission_number=mission.mission_number,
        mission_type=mission.mission_type,
    )


SNAPSHOT_CACHE_VERSION = 2
TAIL_BYTES = 4096


def _file_key(fd: int, size: int) -> list[Any]:
    """Identity of a log's content: stat fields plus a hash of its last bytes."""
    st = os.fstat(fd)
    tail = os.pread(fd, TAIL_BYTES, max(0, size - TAIL_BYTES)) if size else b""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, zlib.crc32(tail)]


def _meta_key(mission: Mission) -> list[int] | None:
    try:
        st = (mission.path / "meta.json").stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _snapshot_cache_path(project: ProjectPaths, mission: Mission) -> Path:
    return project.runtime_dir / "cache" / f"{mission.slug}.snapshot.json"


def _store_snapshot_cache(project: ProjectPaths, mission: Mission, key: list[Any],
                          snapshot: dict[str, Any]) -> None:
    payload = {"version": SNAPSHOT_CACHE_VERSION, "key": key, "snapshot": snapshot}
    path = _snapshot_cache_path(project, mission)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, json.dumps(payload).encode("utf-8"))


def load_snapshot(project: ProjectPaths | None, mission: Mission) -> dict[str, Any]:
    """The reduced snapshot of the mission's log.

    Served from ``.kittify/runtime/cache`` when the log and meta.json are unchanged
    since it was computed; otherwise the log is parsed (strictly) and reduced, and
    the cache refreshed. The cache never replaces the log: any change to the log's
    size, times, inode or last bytes invalidates it.
    """
    try:
        fd = os.open(mission.events_file, os.O_RDONLY)
    except FileNotFoundError:
        from spec_kitty.core.events import ParsedLog

        return snapshot_of(mission, ParsedLog())
    except OSError as exc:
        raise SpecKittyError(f"Cannot read {mission.events_file}: {exc.strerror}",
                             "EVENT_LOG_UNREADABLE") from None
    try:
        size = os.fstat(fd).st_size
        key = [*_file_key(fd, size), _meta_key(mission)]
        if project is not None:
            cached = _read_snapshot_cache(_snapshot_cache_path(project, mission))
            if cached is not None and cached.get("key") == key:
                return cached["snapshot"]
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    from spec_kitty.core.events import parse_log_strict

    parsed = parse_log_strict(b"".join(chunks), str(mission.events_file))
    snapshot = snapshot_of(mission, parsed)
    if project is not None:
        _store_snapshot_cache(project, mission, key, snapshot)
    return snapshot


def _read_snapshot_cache(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != SNAPSHOT_CACHE_VERSION:
        return None
    return data if isinstance(data.get("snapshot"), dict) else None


def snapshot_bytes(snapshot: dict[str, Any]) -> bytes:
    return dumps_pretty(snapshot).encode("utf-8")


def materialize(project: ProjectPaths | None, mission: Mission) -> tuple[dict[str, Any], bool]:
    """Rewrite status.json from the log; only touches the file when its bytes change."""
    snapshot = load_snapshot(project, mission)
    return snapshot, write_if_changed(mission.snapshot_file, snapshot_bytes(snapshot))


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
    # Only called under the lock: any temp file for this log is a dead writer's leftover.
    prefix = f".{path.name}."
    for leftover in path.parent.glob(f"{prefix}*.tmp"):
        with contextlib.suppress(OSError):
            os.unlink(leftover)


def append_rows(mission: Mission, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` as one atomic batch. The caller must hold :func:`status_lock`."""
    path = mission.events_file
    _remove_stale_temp_files(path)
    existing = read_bytes(path)
    if existing and not existing.endswith(b"\n"):
        existing += b"\n"
    from spec_kitty.core.events import serialize_row

    new = "".join(serialize_row(row) for row in rows).encode("utf-8")
    write_bytes_atomic(path, existing + new)

