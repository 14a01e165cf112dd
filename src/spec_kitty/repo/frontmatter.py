"""YAML frontmatter (``---`` fenced block at the top of a markdown file).

Reading uses ruamel's round-trip loader so a later write keeps the author's
comments, key order and quoting. Errors name the file and the line.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError

FENCE = "---"


class FrontmatterError(SpecKittyError):
    def __init__(self, path: Path | str, line: int, problem: str) -> None:
        super().__init__(
            f"{path}:{line}: invalid frontmatter: {problem}",
            "FRONTMATTER_INVALID",
            details={"file": str(path), "line": line},
        )


def _opening(text: str) -> int | None:
    """Offset just past the opening fence line, or None when there is none.

    A leading BOM and blank lines before the fence are tolerated (editors add them);
    trailing spaces after ``---`` too.
    """
    start = 1 if text.startswith("\ufeff") else 0
    while True:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line.strip():
            return (len(text) if end < 0 else end + 1) if line.rstrip() == FENCE else None
        if end < 0:
            return None
        start = end + 1


def split(text: str) -> tuple[str | None, str]:
    """Return ``(yaml_text, body)``; ``yaml_text`` is None without a frontmatter block."""
    offset = _opening(text)
    if offset is None:
        return None, text
    lines = text[offset:].splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.rstrip() == FENCE:
            return "".join(lines[:index]), "".join(lines[index + 1 :])
    return None, text


def _fence_line(text: str) -> int:
    """1-based line of the opening fence (blank lines may precede it)."""
    offset = _opening(text) or 0
    return text.count("\n", 0, max(offset - 1, 0)) + 1


def _yaml(typ: str = "rt") -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ=typ)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def load(text: str, path: Path | str = "<string>") -> tuple[dict[str, Any], str]:
    """Parse frontmatter into a (round-trip) mapping; a file without one yields ``{}``."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    raw, body = split(text)
    if raw is None:
        if _opening(text) is not None:
            raise FrontmatterError(path, _fence_line(text), "opening '---' has no closing '---'")
        return CommentedMap(), body
    fence = _fence_line(text)
    try:
        data = _yaml().load(raw)
    except YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = (mark.line + fence + 1) if mark is not None else fence
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontmatterError(path, line, problem) from None
    if data is None:
        return CommentedMap(), body
    if not isinstance(data, dict):
        raise FrontmatterError(path, fence + 1, "expected a mapping of keys to values")
    return data, body


def load_file(path: Path) -> tuple[dict[str, Any], str]:
    """Frontmatter and body of a file (BOM tolerated, see :mod:`spec_kitty.repo.textio`).

    Raises :class:`FrontmatterError` (``FRONTMATTER_INVALID``), ``FILE_NOT_UTF8`` or
    ``FILE_MISSING``/``FILE_UNREADABLE``, each naming the file.
    """
    from spec_kitty.repo.textio import read_text

    return load(read_text(path), path)


def dump(data: dict[str, Any], body: str) -> str:
    """Frontmatter + body; a body written with CRLF line endings keeps them throughout."""
    stream = io.StringIO()
    _yaml().dump(data, stream)
    text = f"{FENCE}\n{stream.getvalue()}{FENCE}\n{body}"
    if "\r\n" in body:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text
