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


def split(text: str) -> tuple[str | None, str]:
    """Return ``(yaml_text, body)``; ``yaml_text`` is None without a frontmatter block."""
    if not text.startswith(FENCE):
        return None, text
    lines = text.splitlines(keepends=True)
    if lines[0].rstrip("\r\n") != FENCE:
        return None, text
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == FENCE:
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    return None, text


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
        if text.startswith(FENCE + "\n") or text.startswith(FENCE + "\r\n"):
            raise FrontmatterError(path, 1, "opening '---' has no closing '---'")
        return CommentedMap(), body
    try:
        data = _yaml().load(raw)
    except YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1  # +1 for the fence, +1 for 1-based
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontmatterError(path, line, problem) from None
    if data is None:
        return CommentedMap(), body
    if not isinstance(data, dict):
        raise FrontmatterError(path, 2, "expected a mapping of keys to values")
    return data, body


def load_file(path: Path) -> tuple[dict[str, Any], str]:
    return load(path.read_text(encoding="utf-8"), path)


def dump(data: dict[str, Any], body: str) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return f"{FENCE}\n{stream.getvalue()}{FENCE}\n{body}"
