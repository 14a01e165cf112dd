"""Round-trip YAML files (config, metadata) that users may edit by hand."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError


class YamlFileError(SpecKittyError):
    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(
            f"{path}:{line}: {problem}",
            "YAML_INVALID",
            details={"file": str(path), "line": line},
        )


def _represent_str(representer: Any, data: str) -> Any:
    # ruamel writes U+0085 (NEL) inside a single-quoted scalar, which YAML folds into a
    # space on load: double quotes escape it as \N, so the value survives a round trip.
    if "\x85" in data:
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return representer.represent_str(data)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.representer.add_representer(str, _represent_str)
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_mapping(path: Path) -> Any:
    """Load a YAML mapping (round-trip types); a leading BOM is tolerated.

    Raises ``YAML_INVALID`` (file and line), ``FILE_NOT_UTF8``, or ``FILE_MISSING`` /
    ``FILE_UNREADABLE`` (a missing file is an error for the caller to expect).
    """
    from ruamel.yaml.error import YAMLError

    from spec_kitty.repo.textio import read_text

    text = read_text(path)
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlFileError(path, line, f"invalid YAML: {problem}") from None
    if data is None:
        from ruamel.yaml.comments import CommentedMap

        return CommentedMap()
    if not isinstance(data, dict):
        raise YamlFileError(path, 1, "expected a mapping at the top level")
    return data


def dumps(data: Any) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()
