"""Field ownership and conflict resolution between our copy of an issue and the tracker's.

Pure functions, used by the CLI's local sync engine and (server-side) by the hub.
Semantics follow the Spec Kitty tracker reference:

* ``external_authoritative`` (default): every field is owned by the tracker;
* ``spec_kitty_authoritative``: every field is owned by us;
* ``split_ownership``: each field's owner comes from ``field_owners`` (default ``shared``).

For a ``shared`` field whose values differ, ``newer_timestamp`` keeps the value of the
issue with the later ``updated_at`` (the tracker wins ties and wins when our timestamp
is missing) and records a :class:`ConflictRecord`. ``manual_review`` keeps ours and
flags the record for a human. Owned fields never produce conflict records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from spec_kitty.core.tracker.models import SYNCED_FIELDS, CanonicalIssue


class OwnershipMode(StrEnum):
    EXTERNAL_AUTHORITATIVE = "external_authoritative"
    SPEC_KITTY_AUTHORITATIVE = "spec_kitty_authoritative"
    SPLIT_OWNERSHIP = "split_ownership"


class FieldOwner(StrEnum):
    EXTERNAL = "external"
    LOCAL = "local"
    SHARED = "shared"


class ConflictStrategy(StrEnum):
    NEWER_TIMESTAMP = "newer_timestamp"
    MANUAL_REVIEW = "manual_review"


@dataclass(frozen=True)
class OwnershipPolicy:
    mode: OwnershipMode = OwnershipMode.EXTERNAL_AUTHORITATIVE
    field_owners: Mapping[str, FieldOwner] = field(default_factory=dict)

    def owner(self, field_name: str) -> FieldOwner:
        if self.mode is OwnershipMode.EXTERNAL_AUTHORITATIVE:
            return FieldOwner.EXTERNAL
        if self.mode is OwnershipMode.SPEC_KITTY_AUTHORITATIVE:
            return FieldOwner.LOCAL
        return self.field_owners.get(field_name, FieldOwner.SHARED)

    def local_may_write(self, field_name: str) -> bool:
        return self.owner(field_name) is not FieldOwner.EXTERNAL


@dataclass(frozen=True)
class ConflictRecord:
    identity: str
    field_name: str
    local_value: Any
    external_value: Any
    resolved_value: Any
    strategy: ConflictStrategy
    manual_review_required: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "field_name": self.field_name,
            "local_value": _plain(self.local_value),
            "external_value": _plain(self.external_value),
            "resolved_value": _plain(self.resolved_value),
            "strategy": self.strategy.value,
            "manual_review_required": self.manual_review_required,
        }


@dataclass(frozen=True)
class MergeResult:
    merged: CanonicalIssue
    conflicts: tuple[ConflictRecord, ...]

    def changed_from(self, issue: CanonicalIssue) -> tuple[str, ...]:
        """Synced fields whose merged value differs from ``issue``'s."""
        return changed_fields(issue, self.merged)


def changed_fields(before: CanonicalIssue, after: CanonicalIssue) -> tuple[str, ...]:
    return tuple(
        name for name in SYNCED_FIELDS if before.field_value(name) != after.field_value(name)
    )


def _external_wins(local: CanonicalIssue, external: CanonicalIssue) -> bool:
    if local.updated_at is None:
        return True
    if external.updated_at is None:
        return False
    return external.updated_at >= local.updated_at


def merge(
    local: CanonicalIssue,
    external: CanonicalIssue,
    policy: OwnershipPolicy,
    strategy: ConflictStrategy = ConflictStrategy.NEWER_TIMESTAMP,
) -> MergeResult:
    """Combine our copy and the tracker's copy of one issue, field by field.

    The result keeps the tracker's reference (it carries key and URL) and the later of
    the two ``updated_at`` values.
    """
    values: dict[str, Any] = {}
    conflicts: list[ConflictRecord] = []
    for name in SYNCED_FIELDS:
        ours, theirs = local.field_value(name), external.field_value(name)
        if ours == theirs:
            values[name] = theirs
            continue
        owner = policy.owner(name)
        if owner is FieldOwner.LOCAL:
            values[name] = ours
        elif owner is FieldOwner.EXTERNAL:
            values[name] = theirs
        else:
            manual = strategy is ConflictStrategy.MANUAL_REVIEW
            external_wins = not manual and _external_wins(local, external)
            resolved = theirs if external_wins else ours
            values[name] = resolved
            conflicts.append(
                ConflictRecord(
                    identity=external.ref.identity,
                    field_name=name,
                    local_value=ours,
                    external_value=theirs,
                    resolved_value=resolved,
                    strategy=strategy,
                    manual_review_required=manual,
                )
            )
    stamps = [s for s in (local.updated_at, external.updated_at) if s is not None]
    merged = external.with_fields(
        **values,
        updated_at=max(stamps) if stamps else None,
        created_at=external.created_at or local.created_at,
    )
    return MergeResult(merged=merged, conflicts=tuple(conflicts))


def push_patch(
    merged: CanonicalIssue, external: CanonicalIssue, policy: OwnershipPolicy
) -> dict[str, Any]:
    """The fields to send to the tracker: merged values that differ and are ours to write."""
    return {
        name: merged.field_value(name)
        for name in changed_fields(external, merged)
        if policy.local_may_write(name)
    }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, StrEnum):
        return value.value
    return value
