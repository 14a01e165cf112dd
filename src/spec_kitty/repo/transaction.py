"""All-or-nothing groups of file writes.

Each write is itself atomic; if a later write in the group fails, earlier ones are
undone (created files and directories removed, overwritten files restored), so a
command that fails halfway leaves the project exactly as it found it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from spec_kitty.repo.atomic import write_bytes_atomic


class FileTransaction:
    def __init__(self) -> None:
        self._originals: list[tuple[Path, bytes | None]] = []
        self._created_dirs: list[Path] = []

    def _ensure_dir(self, directory: Path) -> None:
        missing: list[Path] = []
        probe = directory
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for path in reversed(missing):
            path.mkdir()
            self._created_dirs.append(path)

    def write(self, path: Path, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._ensure_dir(path.parent)
        try:
            original: bytes | None = path.read_bytes()
        except FileNotFoundError:
            original = None
        self._originals.append((path, original))
        write_bytes_atomic(path, data)

    def rollback(self) -> None:
        for path, original in reversed(self._originals):
            with contextlib.suppress(OSError):
                if original is None:
                    os.unlink(path)
                else:
                    write_bytes_atomic(path, original)
        for directory in reversed(self._created_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        self._originals.clear()
        self._created_dirs.clear()

    def __enter__(self) -> FileTransaction:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.rollback()
