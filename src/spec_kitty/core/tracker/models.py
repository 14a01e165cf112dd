"""The canonical issue model shared by the CLI's local trackers and the hub's connectors.

Every provider (beads, fp, GitHub, GitLab, Jira, Linear) is translated into these
shapes at its edge, so the sync rules in :mod:`spec_kitty.core.tracker.merge` and the
lane mapping below exist once. Field names and vocabularies follow the PRI-12
``NormalizedIssue`` of the Spec Kitty tracker contract (status: todo, in_progress,
in_review, blocked, done, canceled; priority 0 = unset, 1 urgent … 4 low).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from spec_kitty.core.status.lanes import Lane


class CanonicalStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELED = "canceled"


class CanonicalType(StrEnum):
    EPIC = "epic"
    STORY = "story"
    TASK = "task"
    BUG = "bug"
    CHORE = "chore"
    SUBTASK = "subtask"


# Which ticket status a work package's lane stands for. Review-side lanes all read as
# "in review" in a tracker; claimed is still "todo" there (nobody has started coding).
LANE_TO_STATUS: Mapping[Lane, CanonicalStatus] = {
    Lane.GENESIS: CanonicalStatus.TODO,
    Lane.UNINITIALIZED: CanonicalStatus.TODO,
    Lane.PLANNED: CanonicalStatus.TODO,
    Lane.CLAIMED: CanonicalStatus.TODO,
    Lane.IN_PROGRESS: CanonicalStatus.IN_PROGRESS,
    Lane.FOR_REVIEW: CanonicalStatus.IN_REVIEW,
    Lane.IN_REVIEW: CanonicalStatus.IN_REVIEW,
    Lane.APPROVED: CanonicalStatus.IN_REVIEW,
    Lane.DONE: CanonicalStatus.DONE,
    Lane.BLOCKED: CanonicalStatus.BLOCKED,
    Lane.CANCELED: CanonicalStatus.CANCELED,
}

# The fields the sync engine compares and may patch (the reference's CORE_ISSUE_FIELDS).
SYNCED_FIELDS: tuple[str, ...] = (
    "title",
    "body",
    "status",
    "issue_type",
    "priority",
    "assignees",
    "labels",
    "parent",
)


def status_for_lane(lane: Lane) -> CanonicalStatus:
    """The canonical ticket status for a work-package lane (total over :class:`Lane`)."""
    return LANE_TO_STATUS[lane]


class UnknownVocabulary(ValueError):
    """A provider value (status, type, priority) with no canonical meaning.

    Connectors raise it while normalising one item; the sync engine logs the item as
    skipped and carries on, so one odd ticket never aborts a whole pull.
    """

    def __init__(self, kind: str, value: object, item_id: str = "") -> None:
        super().__init__(f"unknown {kind} {value!r}" + (f" on {item_id}" if item_id else ""))
        self.kind = kind
        self.value = value
        self.item_id = item_id


@dataclass(frozen=True)
class ExternalRef:
    """Where an issue lives: ``system`` (provider), ``workspace`` (repo, project, team)
    and the provider's stable ``id``; ``key`` is the human handle (``#12``, ``ENG-4``)."""

    system: str
    workspace: str
    id: str
    key: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        for name in ("system", "workspace", "id"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"ExternalRef.{name} must not be empty")

    @property
    def identity(self) -> str:
        """``system:workspace:id``: the cache key for this issue."""
        return f"{self.system}:{self.workspace}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "workspace": self.workspace,
            "id": self.id,
            "key": self.key,
            "url": self.url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExternalRef:
        return cls(
            system=str(data["system"]),
            workspace=str(data["workspace"]),
            id=str(data["id"]),
            key=data.get("key"),
            url=data.get("url"),
        )


@dataclass(frozen=True)
class CanonicalIssue:
    """One issue in canonical form. ``updated_at`` is timezone-aware UTC (or None when
    the provider does not say); ``raw`` keeps provider fields we do not model."""

    ref: ExternalRef
    title: str
    body: str = ""
    status: CanonicalStatus = CanonicalStatus.TODO
    issue_type: CanonicalType = CanonicalType.TASK
    priority: int = 0
    assignees: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    parent: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError(f"{self.ref.identity}: title must not be empty")
        if not 0 <= self.priority <= 4:
            raise ValueError(f"{self.ref.identity}: priority {self.priority} is not 0-4")

    def field_value(self, name: str) -> Any:
        return getattr(self, name)

    def with_fields(self, **changes: Any) -> CanonicalIssue:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the cache payload and the hub's ``NormalizedIssue``)."""
        return {
            "ref": self.ref.to_dict(),
            "title": self.title,
            "body": self.body,
            "status": self.status.value,
            "issue_type": self.issue_type.value,
            "priority": self.priority,
            "assignees": list(self.assignees),
            "labels": list(self.labels),
            "parent": self.parent,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CanonicalIssue:
        return cls(
            ref=ExternalRef.from_dict(data["ref"]),
            title=str(data["title"]),
            body=str(data.get("body") or ""),
            status=CanonicalStatus(data.get("status", "todo")),
            issue_type=CanonicalType(data.get("issue_type", "task")),
            priority=int(data.get("priority", 0)),
            assignees=tuple(data.get("assignees") or ()),
            labels=tuple(data.get("labels") or ()),
            parent=data.get("parent"),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def parse_timestamp(value: object) -> datetime | None:
    """ISO-8601 (``Z``, offsets, Jira's ``+0000``) to aware UTC; None for empty or bad."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = f"{text[:-2]}:{text[-2:]}"  # Jira writes +0000
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
