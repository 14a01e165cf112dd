"""The connector protocol every provider module implements, and shared helpers.

Connectors speak the canonical model of :mod:`spec_kitty.core.tracker.models`:
they read provider issues into :class:`CanonicalIssue` and write
:class:`IssueDraft`/:class:`IssuePatch`/:class:`CanonicalStatus` back. Ids are the
provider's stable handle within ``workspace`` (GitHub/GitLab: issue number/iid;
Jira: numeric issue id; Linear: issue UUID); ``ref.key`` is the human one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from spec_kitty.core.tracker.models import CanonicalIssue, CanonicalStatus, CanonicalType


@dataclass(frozen=True)
class IssueDraft:
    """A new issue. ``idempotency_key`` makes :meth:`IssueConnector.create_issue` safe to
    repeat: the connector first looks for an issue already carrying the key."""

    title: str
    body: str = ""
    labels: tuple[str, ...] = ()
    status: CanonicalStatus = CanonicalStatus.TODO
    issue_type: CanonicalType = CanonicalType.TASK
    priority: int = 0
    idempotency_key: str | None = None


@dataclass(frozen=True)
class IssuePatch:
    """Field changes. ``labels`` replaces the set; ``add_labels``/``remove_labels`` edit it.
    Status is not here: use :meth:`IssueConnector.transition`."""

    title: str | None = None
    body: str | None = None
    labels: tuple[str, ...] | None = None
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()
    priority: int | None = None

    def apply_labels(self, current: tuple[str, ...]) -> tuple[str, ...]:
        labels = list(self.labels if self.labels is not None else current)
        labels += [name for name in self.add_labels if name not in labels]
        return tuple(name for name in labels if name not in self.remove_labels)


class IssueConnector(Protocol):
    provider: str
    workspace: str

    def list_issues(
        self,
        *,
        updated_since: datetime | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> Iterator[CanonicalIssue]:
        """Every issue (oldest update first), following the provider's pagination."""

    def search_issues(self, text: str, *, limit: int = 20) -> list[CanonicalIssue]:
        """Issues whose key equals ``text`` or whose title/body contain it."""

    def get_issue(self, issue_id: str) -> CanonicalIssue:
        """One issue by id or key; :class:`NotFound` when it does not exist."""

    def create_issue(self, draft: IssueDraft) -> CanonicalIssue:
        """Create (or, with an idempotency key already used, return) an issue."""

    def update_issue(self, issue_id: str, patch: IssuePatch) -> CanonicalIssue:
        """Change title, body, labels or priority; returns the issue as stored."""

    def transition(self, issue_id: str, status: CanonicalStatus) -> CanonicalIssue:
        """Move the issue to the provider state that stands for ``status``."""

    def close(self) -> None:
        """Release the HTTP connection pool."""


# -- idempotency markers -------------------------------------------------------------
# A hidden marker in the body lets a retried create find the issue an earlier,
# interrupted attempt made. HTML comments are invisible in GitHub/GitLab/Linear markdown.
_MARKER = re.compile(r"\n*<!-- spec-kitty-idempotency-key: ([A-Za-z0-9._:-]+) -->\s*$")


def with_marker(body: str, key: str | None) -> str:
    return f"{body}\n\n<!-- spec-kitty-idempotency-key: {key} -->" if key else body


def strip_marker(body: str | None) -> tuple[str, str | None]:
    """(body without the marker, the key it carried or None)."""
    text = body or ""
    match = _MARKER.search(text)
    return (text[: match.start()], match.group(1)) if match else (text, None)


# -- status as labels (GitHub, GitLab) ------------------------------------------------
# Open/closed cannot say "in review" or "blocked", so those live in one status label
# each, with a prefix (GitHub: "status:", GitLab scoped labels: "status::").
LABELLED_STATUSES = (
    CanonicalStatus.IN_PROGRESS,
    CanonicalStatus.IN_REVIEW,
    CanonicalStatus.BLOCKED,
)


def status_label(prefix: str, status: CanonicalStatus) -> str:
    return f"{prefix}{status.value.replace('_', '-')}"


def split_status_labels(
    prefix: str, labels: list[str]
) -> tuple[tuple[str, ...], CanonicalStatus | None]:
    """(ordinary labels, the status a status label names, if any)."""
    named = {status_label(prefix, s): s for s in (*LABELLED_STATUSES, CanonicalStatus.CANCELED)}
    plain = tuple(name for name in labels if name not in named and not name.startswith(prefix))
    found = next((named[name] for name in labels if name in named), None)
    return plain, found


def labels_for_status(
    prefix: str, plain: tuple[str, ...], status: CanonicalStatus, *, label_canceled: bool = False
) -> list[str]:
    labelled = (
        (*LABELLED_STATUSES, CanonicalStatus.CANCELED) if label_canceled else LABELLED_STATUSES
    )
    extra = [status_label(prefix, status)] if status in labelled else []
    return [*plain, *extra]
