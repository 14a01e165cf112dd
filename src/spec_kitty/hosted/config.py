"""``<runtime>/config.toml``: the user-level settings of the hosted features.

Read with the standard library's ``tomllib`` (fast, strict); written with ``tomlkit``,
which keeps the user's comments, ordering and every key we do not know, so a newer or
older spec-kitty (or the user's own notes) never loses anything when we set one value.
Writes are atomic and serialised by ``config.toml.lock``.

Known keys so far (later issues add more to ``[sync]``):

``[sync] server_url``   the hub, e.g. ``"https://hub.example.com"`` (see :mod:`.server`)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.runtime import RuntimePaths, ensure_private_dir

if TYPE_CHECKING:
    import tomllib

TomlValue = str | int | float | bool


class UserConfigError(SpecKittyError):
    """``config.toml`` cannot be used: exit 1, ``CONFIG_INVALID``, names file and line."""

    def __init__(self, path: Path, problem: str, *, line: int | None = None,
                 key: str | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        details: dict[str, Any] = {"file": str(path)}
        if line:
            details["line"] = line
        if key:
            details["key"] = key
        super().__init__(f"{where}: {problem}", "CONFIG_INVALID", details=details,
                         hint=f"Fix {path} (TOML) or remove it.")


def _line_of(exc: tomllib.TOMLDecodeError) -> int | None:
    found = re.search(r"line (\d+)", str(exc))
    return int(found.group(1)) if found else None


def read_user_config(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """The whole file as plain data; ``{}`` when it does not exist.

    Raises :class:`UserConfigError` for a file that is not UTF-8 or not valid TOML.
    """
    path = (paths or RuntimePaths.current()).config_file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UserConfigError(path, f"cannot be read ({exc.strerror})") from None
    import tomllib  # only when there is a file to parse
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserConfigError(path, f"not UTF-8 text ({exc.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserConfigError(path, f"invalid TOML: {exc}", line=_line_of(exc)) from None


def get_setting(data: dict[str, Any], section: str, key: str, path: Path) -> Any:
    """``data[section][key]`` or ``None``; a ``section`` that is not a table is an error."""
    table = data.get(section)
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UserConfigError(path, f"[{section}] must be a table", key=section)
    return table.get(key)


def get_string(section: str, key: str, paths: RuntimePaths | None = None) -> str | None:
    """A string setting, stripped; ``None`` when absent or empty; any other type is an error."""
    paths = paths or RuntimePaths.current()
    value = get_setting(read_user_config(paths), section, key, paths.config_file)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UserConfigError(paths.config_file, f"{section}.{key} must be a string",
                              key=f"{section}.{key}")
    return value.strip() or None


def set_setting(section: str, key: str, value: TomlValue | None,
                paths: RuntimePaths | None = None) -> Path:
    """Set (or with ``None`` remove) ``[section] key``, keeping everything else verbatim.

    Creates the runtime root (0700) and the file when needed. Returns the file's path.
    Raises :class:`UserConfigError` when the existing file cannot be parsed.
    """
    import tomlkit
    from filelock import FileLock

    from spec_kitty.repo.atomic import write_text_atomic

    paths = paths or RuntimePaths.current()
    path = paths.config_file
    ensure_private_dir(paths.root)
    with FileLock(str(path) + ".lock", timeout=10, mode=0o600):
        read_user_config(paths)  # same validation and messages as every reader
        text = path.read_text(encoding="utf-8-sig") if path.exists() else ""
        document = tomlkit.parse(text)
        table = document.get(section)
        if table is None:
            if value is None:
                return path
            table = tomlkit.table()
            document[section] = table
        elif not isinstance(table, dict):
            raise UserConfigError(path, f"[{section}] must be a table", key=section)
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
        write_text_atomic(path, tomlkit.dumps(document))
    return path
