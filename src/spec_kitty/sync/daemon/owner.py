"""The daemon's owner record: ``<runtime>/sync/daemon/owner.json``.

The running daemon writes it atomically (0600) *before* it accepts traffic and removes
it when it exits; nobody else removes it except after proving the recorded process is
gone (see :func:`is_orphan`). Foreground commands (``sync status --check``,
``sync doctor``) compare it with their own view: package version, executable, source
checkout, server, auth scope and queue path.

Shape (JSON object, every key present; strings unless noted)::

    {"pid": int, "port": int, "package_version", "executable", "source_checkout",
     "server_url", "user", "team_slug", "auth_scope", "queue_path",
     "started_at" (ISO-8601 UTC), "process_start": int | null}

``process_start`` is the process's start time in clock ticks since boot
(``/proc/<pid>/stat`` field 22) where the platform has it: the second identity marker,
because PIDs get reused. The control token is never in this file.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spec_kitty.hosted.runtime import PRIVATE_FILE_MODE, RuntimePaths, ensure_private_dir


def daemon_dir(paths: RuntimePaths) -> Path:
    """``<runtime>/sync/daemon``: owner record, lock, control token, log."""
    return paths.root / "sync" / "daemon"


def owner_file(paths: RuntimePaths) -> Path:
    return daemon_dir(paths) / "owner.json"


@dataclass(frozen=True, slots=True)
class OwnerRecord:
    """Who the running daemon is and what it serves (module docstring)."""

    pid: int
    port: int
    package_version: str
    executable: str
    source_checkout: str
    server_url: str
    user: str
    team_slug: str
    auth_scope: str
    queue_path: str
    started_at: str
    process_start: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# PIDs 0 and 1 and negative ones are never a daemon (os.kill would signal a process
# group, init or every process of the user); ports are TCP ports.
_LIMITS = {"pid": (2, 2**22), "port": (1, 65535), "process_start": (0, 2**63 - 1)}
_ANY = (-(2**63), 2**63 - 1)


class OwnerRecordError(ValueError):
    """The owner record exists but is not a valid record (names the file)."""


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or None without one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is parenthesised and may contain spaces: split after it.
    return stat.rsplit(")", 1)[-1].split()


def process_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None when unknown/gone."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields is not None else None
    except (IndexError, ValueError):
        return None


def process_gone(pid: int, process_start: int | None) -> bool:
    """The process is gone: no such PID, another user's process (never our daemon), a
    zombie, or the PID now has another start time than ``process_start``. Without
    ``/proc`` only the PID's existence is known."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, PermissionError):
        return True
    fields = _stat_fields(pid)
    if fields is None:
        return False
    if fields[:1] in (["Z"], ["X"]):  # dead, waiting for a parent (or init) to reap it
        return True
    return process_start is not None and process_start_ticks(pid) != process_start


def source_checkout() -> str:
    """The directory the running ``spec_kitty`` package was imported from."""
    import spec_kitty

    return str(Path(spec_kitty.__file__).resolve().parent)


def current_identity() -> dict[str, str]:
    """Package version, interpreter and source checkout of *this* process."""
    from spec_kitty import __version__

    return {"package_version": __version__, "executable": sys.executable,
            "source_checkout": source_checkout()}


def new_record(*, port: int, server_url: str, user: str, team_slug: str,
               auth_scope: str, queue_path: str) -> OwnerRecord:
    """The record describing the calling process as the daemon."""
    pid = os.getpid()
    return OwnerRecord(pid=pid, port=port, server_url=server_url, user=user,
                       team_slug=team_slug, auth_scope=auth_scope, queue_path=queue_path,
                       started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                       process_start=process_start_ticks(pid), **current_identity())


def write(paths: RuntimePaths, record: OwnerRecord) -> Path:
    """Write the record atomically with mode 0600; returns its path."""
    from spec_kitty.repo.atomic import write_bytes_atomic

    ensure_private_dir(daemon_dir(paths))
    target = owner_file(paths)
    write_bytes_atomic(target, json.dumps(record.to_json(), indent=2).encode(),
                       mode=PRIVATE_FILE_MODE)
    return target


def read(paths: RuntimePaths) -> OwnerRecord | None:
    """The record, or None when there is none. Raises :class:`OwnerRecordError`."""
    target = owner_file(paths)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise OwnerRecordError(f"{target}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise OwnerRecordError(f"{target}: expected a JSON object")
    values: dict[str, Any] = {}
    for spec in fields(OwnerRecord):
        value = data.get(spec.name)
        expected = (int,) if spec.name in {"pid", "port"} else (
            (int, type(None)) if spec.name == "process_start" else (str,))
        if not isinstance(value, expected) or isinstance(value, bool):
            raise OwnerRecordError(f"{target}: field {spec.name!r} is missing or invalid")
        if isinstance(value, int) and not _LIMITS.get(spec.name, _ANY)[0] <= value <= \
                _LIMITS.get(spec.name, _ANY)[1]:
            raise OwnerRecordError(f"{target}: field {spec.name!r} is out of range ({value})")
        values[spec.name] = value
    return OwnerRecord(**values)


def is_alive(record: OwnerRecord) -> bool:
    """Both identity markers match a live process: the PID exists and, where the
    platform records it, its start time equals the recorded one."""
    return not process_gone(record.pid, record.process_start)


def is_orphan(record: OwnerRecord) -> bool:
    """The record's process is gone (or its PID now belongs to another process)."""
    return not is_alive(record)


def remove_if_owner(paths: RuntimePaths, pid: int | None = None) -> bool:
    """Remove the record when it names ``pid`` (default: this process); True if removed."""
    pid = os.getpid() if pid is None else pid
    try:
        record = read(paths)
    except OwnerRecordError:
        return False
    if record is None or record.pid != pid:
        return False
    owner_file(paths).unlink(missing_ok=True)
    return True


def remove_orphan(paths: RuntimePaths) -> OwnerRecord | None:
    """Remove a record whose process is gone; returns it, or None when kept/absent."""
    try:
        record = read(paths)
    except OwnerRecordError:
        return None
    if record is None or not is_orphan(record):
        return None
    owner_file(paths).unlink(missing_ok=True)
    return record
