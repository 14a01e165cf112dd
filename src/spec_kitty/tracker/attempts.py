"""Durable attempt records: one ``Idempotency-Key`` per logical write, kept across retries.

A logical operation is named by a *fingerprint* (kind, provider, routing and payload,
hashed). The first attempt mints a key and records it in
``<runtime root>/trackers/attempts.json`` (0600, under a file lock); every retry of
the same operation, in this process or a later one, reuses it. When the hub answers
202, the record also gets the ``operation_id`` and the polling deadline (epoch
seconds), so a later retry resumes polling that operation instead of sending the
request again, and once the deadline has passed reports "recovery required". A
record is dropped when the operation has a definite outcome. When the hub no longer
knows the recorded operation, the operation is forgotten but the key is kept, so the
one re-send (and any retry of it) carries the same key.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from spec_kitty.repo.atomic import write_text_atomic

MAX_AGE_SECONDS = 7 * 24 * 3600  # forget attempts nobody retried within a week


def fingerprint(kind: str, provider: str, routing: dict[str, str], payload: Any) -> str:
    text = json.dumps([kind, provider, routing, payload], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Attempt:
    key: str
    operation_id: str | None = None
    deadline: float | None = None  # epoch seconds


class AttemptStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls) -> AttemptStore:
        from spec_kitty.hosted.runtime import runtime_root

        return cls(runtime_root() / "trackers" / "attempts.json")

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with FileLock(str(self.path) + ".lock"):
            data: dict[str, Any] = {}
            if self.path.exists():
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                except ValueError:
                    data = {}  # a torn file only loses retry keys, never user data
            before = json.dumps(data, sort_keys=True)
            yield data
            now = time.time()
            for name in [k for k, v in data.items() if now - v.get("at", now) > MAX_AGE_SECONDS]:
                del data[name]
            if json.dumps(data, sort_keys=True) != before:
                write_text_atomic(self.path, json.dumps(data, indent=1, sort_keys=True),
                                  mode=0o600)

    def begin(self, fingerprint: str) -> Attempt:
        """The attempt for this logical operation, minting its key on first use."""
        with self._locked() as data:
            entry = data.get(fingerprint)
            if entry is None:
                entry = {"key": str(uuid.uuid4()), "at": time.time()}
                data[fingerprint] = entry
            return Attempt(entry["key"], entry.get("operation_id"), entry.get("deadline"))

    def accepted(self, fingerprint: str, operation_id: str, deadline: float) -> float:
        """Record the 202's operation; keeps an earlier deadline (returns the one in force)."""
        with self._locked() as data:
            entry = data.setdefault(fingerprint, {"key": str(uuid.uuid4()), "at": time.time()})
            if entry.get("operation_id") != operation_id or entry.get("deadline") is None:
                entry["operation_id"], entry["deadline"] = operation_id, deadline
            return float(entry["deadline"])

    def forget_operation(self, fingerprint: str) -> None:
        """Drop the recorded 202 operation and its deadline; the key stays."""
        with self._locked() as data:
            entry = data.get(fingerprint)
            if entry is not None:
                entry.pop("operation_id", None)
                entry.pop("deadline", None)

    def finish(self, fingerprint: str) -> None:
        with self._locked() as data:
            data.pop(fingerprint, None)
