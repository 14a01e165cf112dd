"""Three-way merge of append-only event logs (the git merge driver's logic).

The result is the union of base, ours and theirs, de-duplicated by ``event_id``
and ordered by (``at`` or ``timestamp``, ``event_id``). The same id carrying two
different payloads is a real conflict: nothing sensible can be chosen.

Inputs are read like any log (:mod:`spec_kitty.core.status.events`): a byte order mark and
CRLF line endings are ignored, a torn final line is an unfinished write (dropped, not
merged), and a side that is not UTF-8 is named as such. The result keeps the line-ending
style of ``ours``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.status.events import is_torn, line_ending_of


class LogMergeError(SpecKittyError):
    pass


@dataclass(frozen=True)
class _Entry:
    order: tuple[str, str]
    line: str


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def _entries(label: str, data: bytes) -> list[tuple[str, _Entry]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LogMergeError(f"{label}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02X}); "
                            "re-encode the log as UTF-8", "MERGE_INPUT_NOT_UTF8") from None
    lines = text.splitlines()
    if lines and not text.endswith(("\n", "\r")) and is_torn(lines[-1].encode("utf-8")):
        lines.pop()  # an unfinished write, never data
    found = []
    for lineno, raw in enumerate(lines, 1):
        raw = raw.removeprefix("\ufeff")
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LogMergeError(
                f"{label}:{lineno}: invalid JSON ({exc.msg})", "MERGE_INPUT_INVALID"
            ) from None
        if not isinstance(row, dict):
            raise LogMergeError(f"{label}:{lineno}: not a JSON object", "MERGE_INPUT_INVALID")
        event_id = row.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            raise LogMergeError(f"{label}:{lineno}: row has no event_id", "MERGE_INPUT_INVALID")
        stamp = row.get("at", row.get("timestamp", ""))
        found.append((event_id, _Entry((str(stamp or ""), event_id), _canonical(row))))
    return found


def merge_logs(base: bytes, ours: bytes, theirs: bytes) -> bytes:
    """The merged log's bytes; raises :class:`LogMergeError` for unreadable input or
    an event id carrying different content on the two sides."""
    merged: dict[str, _Entry] = {}
    conflicts: list[str] = []
    for label, data in (("base", base), ("ours", ours), ("theirs", theirs)):
        for event_id, entry in _entries(label, data):
            existing = merged.get(event_id)
            if existing is None:
                merged[event_id] = entry
            elif existing.line != entry.line and event_id not in conflicts:
                conflicts.append(event_id)
    if conflicts:
        raise LogMergeError(
            f"event id(s) {', '.join(conflicts)} carry different content on the two sides",
            "EVENT_ID_CONFLICT",
            details={"event_ids": conflicts},
        )
    ordered = sorted(merged.values(), key=lambda entry: entry.order)
    ending = line_ending_of(ours)
    return "".join(entry.line + ending for entry in ordered).encode("utf-8")
