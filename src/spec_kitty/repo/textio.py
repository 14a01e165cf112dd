"""The one way project text files are read: UTF-8, a leading BOM tolerated.

Editors on Windows (and some generators) start files with a UTF-8 byte-order mark.
Left in place it hides whatever the first line holds: a frontmatter fence, a JSON
brace, a YAML key. Every reader of a file a person or an agent may have written
(WP files, tasks.md, spec.md, plan.md, meta.json, lanes.json, config, charter,
templates) goes through :func:`read_text` or :func:`decode`. Line endings are left
alone: ``str.splitlines`` and the YAML/JSON parsers read CRLF and LF alike.

A file that is not UTF-8 is :class:`FileNotUtf8` (``FILE_NOT_UTF8``) naming the file,
the byte offset and the line, never a bare ``UnicodeDecodeError``.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from spec_kitty.core.errors import SpecKittyError

BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class FileNotUtf8(SpecKittyError):
    """``details``: ``file``, ``line`` (1-based), ``byte`` (0-based offset)."""

    def __init__(self, path: Path | str, data: bytes, start: int, reason: str) -> None:
        line = data.count(b"\n", 0, start) + 1
        super().__init__(
            f"{path}:{line}: not UTF-8 text ({reason} at byte {start}); "
            "save the file as UTF-8.",
            "FILE_NOT_UTF8",
            details={"file": str(path), "line": line, "byte": start},
        )


class FileUnreadable(SpecKittyError):
    def __init__(self, path: Path | str, reason: str, code: str = "FILE_UNREADABLE") -> None:
        super().__init__(f"Cannot read {path}: {reason}", code, details={"file": str(path)})


def decode(data: bytes, path: Path | str = "<bytes>") -> str:
    """UTF-8 text of ``data`` without a leading BOM; raises :class:`FileNotUtf8`."""
    if data.startswith(_UTF16_BOMS):
        raise FileNotUtf8(path, data, 0, "UTF-16 byte-order mark")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileNotUtf8(path, data, exc.start, exc.reason) from None


def read_text(path: Path) -> str:
    """The file's text (see :func:`decode`).

    Raises :class:`FileUnreadable` (``FILE_MISSING`` when it does not exist,
    ``FILE_UNREADABLE`` for other OS errors) or :class:`FileNotUtf8`.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileUnreadable(path, "no such file", "FILE_MISSING") from None
    except OSError as exc:
        raise FileUnreadable(path, exc.strerror or str(exc)) from None
    return decode(data, path)


def read_text_if_exists(path: Path) -> str | None:
    """Like :func:`read_text`, but a missing file is ``None`` instead of an error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise FileUnreadable(path, "is a directory") from None
    except OSError as exc:
        raise FileUnreadable(path, exc.strerror or str(exc)) from None
    return decode(data, path)
