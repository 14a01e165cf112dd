"""Fiberplane's ``fp`` as a local tracker, through ``fp issue …`` and ``fp context …``.

fp prints text: ``fp issue list`` lines are ``ID [status] [priority] title`` (children
indented with tree glyphs); full issues come from ``fp context ID --format json``.
Statuses: todo ↔ todo, in-progress ↔ in_progress, done ↔ done; in_review and blocked
are written as in-progress and canceled as done (fp has no such states). Priorities:
critical 1, high 2, medium 3, low 4, none 0. fp can change status and priority only,
so title, body and labels are never pushed; fp cannot filter by update time, so each
pull reads every issue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from spec_kitty.core.tracker.models import (
    CanonicalIssue,
    CanonicalStatus,
    ExternalRef,
    UnknownVocabulary,
    parse_timestamp,
)
from spec_kitty.tracker.errors import LocalToolError
from spec_kitty.tracker.local.base import SkippedItem
from spec_kitty.tracker.local.runner import run_tool

S = CanonicalStatus
STATUS_IN = {"todo": S.TODO, "in-progress": S.IN_PROGRESS, "done": S.DONE}
STATUS_OUT = {
    S.TODO: "todo",
    S.IN_PROGRESS: "in-progress",
    S.IN_REVIEW: "in-progress",
    S.BLOCKED: "in-progress",
    S.DONE: "done",
    S.CANCELED: "done",
}
PRIORITY_IN = {None: 0, "": 0, "critical": 1, "high": 2, "medium": 3, "low": 4}
PRIORITY_OUT = {1: "critical", 2: "high", 3: "medium", 4: "low"}
_ID = re.compile(r"\b([A-Z][A-Z0-9]*-\d+)\b")
_LINE = re.compile(r"^[\s│├└─]*([A-Z][A-Z0-9]*-\d+)\s+\[([^\]]+)\]")

Runner = Callable[[Sequence[str], Path], str]


class FpConnector:
    system = "fp"
    writable_fields = frozenset({"status", "priority"})

    def __init__(
        self, workspace: str, cwd: Path, *, command: str = "fp", runner: Runner | None = None
    ) -> None:
        self.workspace = workspace
        self.cwd = cwd
        self.command = command
        self._run: Runner = runner or (lambda argv, cwd: run_tool(argv, cwd))

    def list_ids(self) -> list[str]:
        out = self._run([self.command, "issue", "list"], self.cwd)
        return [m.group(1) for m in map(_LINE.match, out.splitlines()) if m]

    def normalize(self, raw: dict[str, Any]) -> CanonicalIssue:
        item_id = str(raw.get("id", "?"))
        status = STATUS_IN.get(str(raw.get("status")))
        if status is None:
            raise UnknownVocabulary("status", raw.get("status"), item_id)
        priority = PRIORITY_IN.get(raw.get("priority"))
        if priority is None:
            raise UnknownVocabulary("priority", raw.get("priority"), item_id)
        return CanonicalIssue(
            ref=ExternalRef(self.system, self.workspace, item_id, item_id),
            title=str(raw.get("title") or "").strip() or item_id,
            body=str(raw.get("description") or ""),
            status=status,
            priority=priority,
            parent=raw.get("parent") or None,
            created_at=parse_timestamp(raw.get("created_at")),
            updated_at=parse_timestamp(raw.get("updated_at")),
        )

    def get_raw(self, issue_id: str) -> dict[str, Any]:
        out = self._run([self.command, "context", issue_id, "--format", "json"], self.cwd)
        try:
            data = json.loads(out)
        except ValueError:
            raise LocalToolError(
                f"`{self.command} context {issue_id}` did not print JSON"
            ) from None
        if not isinstance(data, dict):
            raise LocalToolError(
                f"`{self.command} context {issue_id}` printed {type(data).__name__}"
            )
        return data

    def list_issues(
        self, updated_since: datetime | None = None
    ) -> tuple[list[CanonicalIssue], list[SkippedItem]]:
        issues, skipped = [], []
        for issue_id in self.list_ids():
            try:
                issues.append(self.normalize(self.get_raw(issue_id)))
            except UnknownVocabulary as exc:
                skipped.append(SkippedItem(exc.item_id, f"unknown {exc.kind}", str(exc.value)))
        return issues, skipped

    def create_issue(self, issue: CanonicalIssue) -> CanonicalIssue:
        argv = [self.command, "issue", "create", "--title", issue.title]
        if issue.body:
            argv += ["--description", issue.body]
        if issue.priority in PRIORITY_OUT:
            argv += ["--priority", PRIORITY_OUT[issue.priority]]
        if issue.parent:
            argv += ["--parent", issue.parent]
        match = _ID.search(self._run(argv, self.cwd))
        if match is None:
            raise LocalToolError(f"`{self.command} issue create` did not print the new issue id")
        if issue.status is not CanonicalStatus.TODO:
            return self.update_issue(match.group(1), {"status": issue.status})
        return self.normalize(self.get_raw(match.group(1)))

    def update_issue(self, issue_id: str, patch: dict[str, Any]) -> CanonicalIssue:
        argv = [self.command, "issue", "update"]
        if "status" in patch:
            argv += ["--status", STATUS_OUT[CanonicalStatus(patch["status"])]]
        if "priority" in patch and int(patch["priority"]) in PRIORITY_OUT:
            argv += ["--priority", PRIORITY_OUT[int(patch["priority"])]]
        if len(argv) > 3:
            self._run([*argv, issue_id], self.cwd)
        return self.normalize(self.get_raw(issue_id))

    def same_on_provider(self, field: str, ours: Any, theirs: Any) -> bool:
        if field == "status":
            return STATUS_OUT[CanonicalStatus(ours)] == STATUS_OUT[CanonicalStatus(theirs)]
        return bool(ours == theirs)
