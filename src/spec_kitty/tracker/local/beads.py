"""beads (``bd``) as a local tracker, through ``bd --json …`` subprocesses.

Vocabulary (beads docs: docs/JSON_SCHEMA.md, docs/cli-reference/):

| beads status | canonical | | canonical | beads status |
|---|---|---|---|---|
| open, deferred | todo | | todo | open |
| in_progress, pinned, hooked | in_progress | | in_progress, in_review | in_progress |
| blocked | blocked | | blocked | blocked |
| closed | done | | done, canceled | closed |
| tombstone | canceled | | | |

Types: bug, task, epic, chore keep their names; feature and story → story; decision →
chore; spike → task; milestone → epic. Infrastructure beads (message, molecule, gate,
event, convoy, merge-request, …) and any other value are *unknown vocabulary*: the item
is skipped and reported, never aborting the pull. Priorities: beads 0 (critical) … 4
(backlog) ↔ canonical 1 (urgent) … 4 (low); canonical 0 (unset) writes beads' default 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spec_kitty.core.tracker.models import (
    CanonicalIssue,
    CanonicalStatus,
    CanonicalType,
    ExternalRef,
    UnknownVocabulary,
    parse_timestamp,
)
from spec_kitty.tracker.errors import LocalToolError
from spec_kitty.tracker.local.base import SkippedItem
from spec_kitty.tracker.local.runner import run_tool

S = CanonicalStatus
STATUS_IN = {
    "open": S.TODO,
    "deferred": S.TODO,
    "in_progress": S.IN_PROGRESS,
    "pinned": S.IN_PROGRESS,
    "hooked": S.IN_PROGRESS,
    "blocked": S.BLOCKED,
    "closed": S.DONE,
    "tombstone": S.CANCELED,
}
STATUS_OUT = {
    S.TODO: "open",
    S.IN_PROGRESS: "in_progress",
    S.IN_REVIEW: "in_progress",
    S.BLOCKED: "blocked",
    S.DONE: "closed",
    S.CANCELED: "closed",
}
T = CanonicalType
TYPE_IN = {
    "bug": T.BUG,
    "task": T.TASK,
    "epic": T.EPIC,
    "chore": T.CHORE,
    "feature": T.STORY,
    "story": T.STORY,
    "decision": T.CHORE,
    "spike": T.TASK,
    "milestone": T.EPIC,
}
TYPE_OUT = {
    T.BUG: "bug",
    T.TASK: "task",
    T.EPIC: "epic",
    T.CHORE: "chore",
    T.STORY: "feature",
    T.SUBTASK: "task",
}
PRIORITY_IN = {0: 1, 1: 2, 2: 3, 3: 4, 4: 4}
PRIORITY_OUT = {0: 2, 1: 0, 2: 1, 3: 2, 4: 3}

Runner = Callable[[Sequence[str], Path], str]


class BeadsConnector:
    system = "beads"
    writable_fields = frozenset(
        {"title", "body", "status", "issue_type", "priority", "labels", "parent"}
    )

    def __init__(
        self, workspace: str, cwd: Path, *, command: str = "bd", runner: Runner | None = None
    ) -> None:
        self.workspace = workspace
        self.cwd = cwd
        self.command = command
        self._run: Runner = runner or (lambda argv, cwd: run_tool(argv, cwd))

    def _json(self, *args: str) -> Any:
        out = self._run([self.command, "--json", *args], self.cwd)
        try:
            return json.loads(out)
        except ValueError:
            raise LocalToolError(
                f"`{self.command} {args[0]}` printed something that is not JSON: "
                f"{out.strip()[:120]!r}"
            ) from None

    def normalize(self, raw: dict[str, Any]) -> CanonicalIssue:
        item_id = str(raw.get("id", "?"))
        status = STATUS_IN.get(str(raw.get("status")))
        if status is None:
            raise UnknownVocabulary("status", raw.get("status"), item_id)
        issue_type = TYPE_IN.get(str(raw.get("issue_type", "task")))
        if issue_type is None:
            raise UnknownVocabulary("type", raw.get("issue_type"), item_id)
        try:
            priority = PRIORITY_IN[min(max(int(raw.get("priority", 2)), 0), 4)]
        except (TypeError, ValueError):
            raise UnknownVocabulary("priority", raw.get("priority"), item_id) from None
        return CanonicalIssue(
            ref=ExternalRef(self.system, self.workspace, item_id, item_id),
            title=str(raw.get("title") or "").strip() or item_id,
            body=str(raw.get("description") or ""),
            status=status,
            issue_type=issue_type,
            priority=priority,
            assignees=(str(raw["assignee"]),) if raw.get("assignee") else (),
            labels=tuple(sorted(str(x) for x in raw.get("labels") or [])),
            parent=raw.get("parent") or None,
            created_at=parse_timestamp(raw.get("created_at")),
            updated_at=parse_timestamp(raw.get("updated_at")),
        )

    def list_issues(
        self, updated_since: datetime | None = None
    ) -> tuple[list[CanonicalIssue], list[SkippedItem]]:
        args = ["list", "--all", "--limit", "0"]
        if updated_since is not None:
            args += [
                "--updated-after",
                updated_since.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            ]
        data = self._json(*args)
        items = data.get("items", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise LocalToolError(
                f"`{self.command} list` returned {type(items).__name__}, not a list"
            )
        issues, skipped = [], []
        for raw in items:
            try:
                issues.append(self.normalize(raw))
            except UnknownVocabulary as exc:
                skipped.append(SkippedItem(exc.item_id, f"unknown {exc.kind}", str(exc.value)))
        return issues, skipped

    def _issue_from(self, data: Any) -> CanonicalIssue:
        if isinstance(data, list):
            data = data[0] if data else {}
        if isinstance(data, dict) and isinstance(data.get("issue"), dict):
            data = data["issue"]
        return self.normalize(data)

    def _field_args(self, values: dict[str, Any], *, create: bool) -> list[str]:
        args: list[str] = []
        if "body" in values:
            args += ["--description", str(values["body"])]
        if "issue_type" in values:
            args += ["--type", TYPE_OUT[CanonicalType(values["issue_type"])]]
        if "priority" in values:
            args += ["--priority", str(PRIORITY_OUT[int(values["priority"])])]
        if "status" in values:
            args += ["--status", STATUS_OUT[CanonicalStatus(values["status"])]]
        if "parent" in values and (values["parent"] or not create):
            args += ["--parent", values["parent"] or ""]
        if "labels" in values:
            labels = ",".join(values["labels"])
            args += ["--labels", labels] if create else ["--set-labels", labels]
        return args

    def create_issue(self, issue: CanonicalIssue) -> CanonicalIssue:
        fields = {
            name: issue.field_value(name)
            for name in ("body", "issue_type", "priority", "status", "labels", "parent")
        }
        return self._issue_from(
            self._json("create", issue.title, *self._field_args(fields, create=True))
        )

    def update_issue(self, issue_id: str, patch: dict[str, Any]) -> CanonicalIssue:
        values = {k: v for k, v in patch.items() if k in self.writable_fields}
        args = self._field_args(values, create=False)
        if "title" in values:
            args = ["--title", str(values["title"]), *args]
        return self._issue_from(self._json("update", issue_id, *args))

    def same_on_provider(self, field: str, ours: Any, theirs: Any) -> bool:
        if field == "status":
            return STATUS_OUT[CanonicalStatus(ours)] == STATUS_OUT[CanonicalStatus(theirs)]
        if field == "issue_type":
            return TYPE_OUT[CanonicalType(ours)] == TYPE_OUT[CanonicalType(theirs)]
        if field == "priority":
            return PRIORITY_OUT[int(ours)] == PRIORITY_OUT[int(theirs)]
        return bool(ours == theirs)
