"""Three-way merge of append-only event logs (the git merge driver's logic).

The result is the union of base, ours and theirs, de-duplicated by ``event_id``
and ordered by (``at`` or ``timestamp``, ``event_id``). The same id carrying two
different payloads is a real conflict: nothing sensible can be chosen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from spec_kitty.core.errors import SpecKittyError


class LogMergeError(SpecKittyError):
    pass


@dataclass(frozen=True)
class _Entry:
    order: tuple[str, str]
    line: str


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def _entries(label: str, data: bytes) -> list[tuple[str, _Entry]]:
    found = []
    for lineno, raw in enumerate(data.decode("utf-8").splitlines(), 1):
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
    return "".join(entry.line + "\n" for entry in ordered).encode("utf-8")
