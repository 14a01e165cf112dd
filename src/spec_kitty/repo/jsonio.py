"""JSON files we own (meta.json, lanes.json, state files): strict read, atomic write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.atomic import write_if_changed


class JsonFileError(SpecKittyError):
    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(
            f"{path}:{line}: {problem}",
            "JSON_INVALID",
            details={"file": str(path), "line": line},
        )


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (a leading BOM is tolerated).

    Raises ``JSON_INVALID`` (file and line), ``FILE_NOT_UTF8`` or
    ``FILE_MISSING``/``FILE_UNREADABLE``.
    """
    from spec_kitty.repo.textio import read_text

    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise JsonFileError(path, 1, "expected a JSON object")
    return data


def dumps_pretty(data: Any) -> str:
    """Indent 2, sorted keys, trailing newline: stable bytes for files kept in git."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: Path, data: Any) -> bool:
    return write_if_changed(path, dumps_pretty(data).encode("utf-8"))
