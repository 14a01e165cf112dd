"""Crash-safe file writes: temp file in the same directory, fsync, ``os.replace``.

A reader (or a process killed mid-write) only ever sees the old bytes or the new
bytes, never a mix, and no stray partial file is left behind under the real name.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path_for(path: Path) -> Path:
    """A unique sibling name; dot-prefixed so tools that glob the real name skip it."""
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None,
                       fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; ``fsync=False`` for disposable caches."""
    path = Path(path)
    tmp = temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if mode is None and path.exists():
            # Keep the permissions the user gave the file (e.g. a read-only prompt file).
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        _fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write only when the bytes differ; returns whether anything was written."""
    try:
        if Path(path).read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_bytes_atomic(path, data)
    return True
