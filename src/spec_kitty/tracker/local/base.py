"""What the sync engine needs from a local tracker tool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from spec_kitty.core.tracker.models import CanonicalIssue


@dataclass(frozen=True)
class SkippedItem:
    """An item a pull could not use (unknown vocabulary), reported instead of aborting."""

    item_id: str
    reason: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.item_id, "reason": self.reason, "value": self.value}


class LocalConnector(Protocol):
    system: str
    workspace: str
    writable_fields: frozenset[str]

    def list_issues(
        self, updated_since: datetime | None = None
    ) -> tuple[list[CanonicalIssue], list[SkippedItem]]:
        """Every issue (changed since ``updated_since`` when the tool can filter)."""

    def create_issue(self, issue: CanonicalIssue) -> CanonicalIssue:
        """Create ``issue`` in the tool; returns it with the tool's id."""

    def update_issue(self, issue_id: str, patch: dict[str, Any]) -> CanonicalIssue:
        """Apply canonical field values (only ``writable_fields``); returns the stored issue."""

    def same_on_provider(self, field: str, ours: Any, theirs: Any) -> bool:
        """Whether two canonical values are written identically by this tool."""
