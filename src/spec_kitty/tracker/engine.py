"""The local sync engine: pull, push and run between a local tool and the cache.

* **pull** reads the tool's issues changed since the checkpoint (``provider:workspace``),
  inserts new ones, merges known ones field by field under the ownership policy
  (:func:`spec_kitty.core.tracker.merge.merge`), records conflicts, and advances the
  checkpoint to the newest ``updated_at`` seen, all in one transaction. Items in a
  vocabulary we do not know are logged, counted as skipped and reported; the pull
  goes on.
* **push** walks the cached issues of the binding: a local draft (``local-…``) is
  created in the tool when we may write titles; a known issue is merged with the
  tool's current copy and the fields we own that differ are sent. Fields the tool
  cannot store (fp: title, body, labels) are left alone.
* **run** is pull then push (push limit ``max(limit, 100)``), stats summed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from spec_kitty.core.tracker.merge import (
    ConflictRecord,
    ConflictStrategy,
    OwnershipPolicy,
    changed_fields,
    merge,
    push_patch,
)
from spec_kitty.core.tracker.models import CanonicalIssue, parse_timestamp
from spec_kitty.tracker.errors import LocalToolError
from spec_kitty.tracker.local.base import LocalConnector, SkippedItem
from spec_kitty.tracker.store import TrackerStore

log = logging.getLogger("spec_kitty.tracker")


@dataclass
class SyncStats:
    pulled_created: int = 0
    pulled_updated: int = 0
    pushed_created: int = 0
    pushed_updated: int = 0
    skipped: int = 0

    def add(self, other: SyncStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class SyncResult:
    """The JSON of ``tracker sync pull|push|run`` for a local provider."""

    provider: str
    stats: SyncStats = field(default_factory=SyncStats)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    skipped_items: list[SkippedItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def absorb(self, other: SyncResult) -> None:
        self.stats.add(other.stats)
        self.conflicts += other.conflicts
        self.skipped_items += other.skipped_items
        self.errors += other.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "stats": {f.name: getattr(self.stats, f.name) for f in fields(self.stats)},
            "conflicts": [
                {
                    "identity": c.identity,
                    "field_name": c.field_name,
                    "strategy": c.strategy.value,
                    "manual_review_required": c.manual_review_required,
                    "resolved_value": c.to_dict()["resolved_value"],
                }
                for c in self.conflicts
            ],
            "skipped": [s.to_dict() for s in self.skipped_items],
            "errors": list(self.errors),
        }


class SyncEngine:
    def __init__(
        self,
        connector: LocalConnector,
        store: TrackerStore,
        policy: OwnershipPolicy,
        *,
        strategy: ConflictStrategy = ConflictStrategy.NEWER_TIMESTAMP,
        max_retry_attempts: int = 2,
    ) -> None:
        self.connector = connector
        self.store = store
        self.policy = policy
        self.strategy = strategy
        self.max_retry_attempts = max_retry_attempts

    @property
    def checkpoint_key(self) -> str:
        return f"{self.connector.system}:{self.connector.workspace}"

    def pull(self, limit: int = 100) -> SyncResult:
        result = SyncResult(self.connector.system)
        cursor, since_text = self.store.checkpoint(self.checkpoint_key)
        since = parse_timestamp(since_text)
        issues, skipped = self.connector.list_issues(since)
        for item in skipped:
            log.warning("tracker pull skipped %s: %s %r", item.item_id, item.reason, item.value)
        result.skipped_items += skipped
        result.stats.skipped += len(skipped)
        issues.sort(key=lambda i: (i.updated_at is None, i.updated_at or datetime.min, i.ref.id))
        newest = since
        with self.store.transaction():
            for issue in issues[:limit]:
                known = self.store.get_issue(issue.ref.identity)
                if known is None:
                    self.store.upsert_issue(issue)
                    result.stats.pulled_created += 1
                else:
                    merged = merge(known, issue, self.policy, self.strategy)
                    result.conflicts += self.store.record_conflicts(merged.conflicts)
                    if changed_fields(known, merged.merged) or merged.merged.ref != known.ref:
                        self.store.upsert_issue(merged.merged)
                        result.stats.pulled_updated += 1
                    else:
                        result.stats.skipped += 1
                if issue.updated_at and (newest is None or issue.updated_at > newest):
                    newest = issue.updated_at
            self.store.set_checkpoint(
                self.checkpoint_key, cursor, newest.isoformat() if newest else None
            )
        return result

    def _with_retries(self, action: Any, *args: Any) -> CanonicalIssue:
        for attempt in range(self.max_retry_attempts + 1):
            try:
                issue: CanonicalIssue = action(*args)
                return issue
            except LocalToolError as exc:
                if not exc.retryable or attempt == self.max_retry_attempts:
                    raise
                log.warning("retrying after %s", exc.message)
        raise AssertionError("unreachable")

    def push(self, limit: int = 100) -> SyncResult:
        result = SyncResult(self.connector.system)
        remote_issues, _ = self.connector.list_issues(None)
        remote = {issue.ref.identity: issue for issue in remote_issues}
        cached = self.store.issues(self.connector.system, self.connector.workspace)
        for local in cached[:limit]:
            try:
                self._push_one(local, remote.get(local.ref.identity), result)
            except LocalToolError as exc:
                result.errors.append(f"{local.ref.identity}: {exc.message}")
        return result

    def _push_one(
        self, local: CanonicalIssue, theirs: CanonicalIssue | None, result: SyncResult
    ) -> None:
        if theirs is None:
            if not local.ref.id.startswith("local-") or not self.policy.local_may_write("title"):
                result.stats.skipped += 1
                return
            created = self._with_retries(self.connector.create_issue, local)
            self.store.replace_identity(local, created)
            result.stats.pushed_created += 1
            return
        merged = merge(local, theirs, self.policy, self.strategy)
        patch = {
            name: value
            for name, value in push_patch(merged.merged, theirs, self.policy).items()
            if name in self.connector.writable_fields
            and not self.connector.same_on_provider(name, value, theirs.field_value(name))
        }
        stored = (
            self._with_retries(self.connector.update_issue, theirs.ref.id, patch) if patch else None
        )
        with self.store.transaction():
            result.conflicts += self.store.record_conflicts(merged.conflicts)
            if stored is None:
                if changed_fields(local, merged.merged):
                    self.store.upsert_issue(merged.merged)
                result.stats.skipped += 1
            else:
                self.store.upsert_issue(merged.merged.with_fields(updated_at=stored.updated_at))
                result.stats.pushed_updated += 1

    def run(self, limit: int = 100) -> SyncResult:
        result = self.pull(limit)
        result.absorb(self.push(max(limit, 100)))
        return result
