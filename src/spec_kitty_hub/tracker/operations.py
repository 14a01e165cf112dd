"""What the tracker endpoints and jobs do with a connector: pull, push, run, search.

Push items (the PRI-12 ``PushItem`` plus an optional work package)::

    {"action": "create" | "update" | "transition",
     "ref": {"system", "workspace", "id", "key"?},          # update/transition
     "patch": {"title"?, "body"?, "labels"?, "add_labels"?, "remove_labels"?,
               "priority"?, "issue_type"?},
     "target_status": "todo" | "in_progress" | ... ,         # optional
     "work_package": {"mission_slug", "wp_id"}}              # optional

With ``work_package``, the hub's mapping decides: a mapped work package is updated
(whatever the action says), an unmapped one is created and mapped. Creates carry an
idempotency key (stable per work package, else per job item), so a retried job never
makes a second issue. Each item yields ``{ref, action, outcome, remote_ref, version,
message}``; one failing item does not stop the others (envelope ``status: partial``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from spec_kitty.core.tracker.models import CanonicalIssue, CanonicalStatus, CanonicalType
from spec_kitty_hub.connectors import ConnectorError, IssueConnector, IssueDraft, IssuePatch
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.db.models import utcnow
from spec_kitty_hub.db.tracker_tables import TrackerBinding, TrackerConnection, TrackerMapping
from spec_kitty_hub.tracker.problems import TrackerProblem, problem_json

ConnectorFactory = Callable[[TrackerConnection], IssueConnector]


def identity_path(row: TrackerConnection) -> dict[str, Any]:
    return {"type": "installation", "installation_id": f"team-{row.team_id}",
            "user_link_id": None, "provider": row.provider,
            "provider_account_id": row.resource_id}


def normalized(issue: CanonicalIssue) -> dict[str, Any]:
    data = issue.to_dict()
    data.update(parent_ref=data.pop("parent"), links=[], custom_fields={},
                provider_metadata=dict(issue.raw))
    return data


def ticket(issue: CanonicalIssue) -> dict[str, Any]:
    """The flat shape of issue-search candidates and list-tickets rows."""
    return {"id": issue.ref.id, "key": issue.ref.key or issue.ref.id, "title": issue.title,
            "status": issue.status.value, "url": issue.ref.url, "body": issue.body,
            "labels": list(issue.labels), "assignees": list(issue.assignees)}


def pull(connector: IssueConnector, row: TrackerConnection, *, limit: int,
         cursor: str | None) -> dict[str, Any]:
    """One page of issues changed since ``cursor`` (an ISO timestamp, oldest first)."""
    since = datetime.fromisoformat(cursor) if cursor else None
    items = list(connector.list_issues(updated_since=since, limit=limit + 1))
    has_more = len(items) > limit
    items = items[:limit]
    stamps = [i.updated_at for i in items if i.updated_at is not None]
    next_cursor = max(stamps).astimezone(UTC).isoformat() if stamps else cursor
    return {"status": "ok",
            "summary": {"total": len(items), "succeeded": len(items), "failed": 0,
                        "skipped": 0},
            "items": [normalized(issue) for issue in items], "item_errors": [],
            "identity_path": identity_path(row), "has_more": has_more,
            "next_cursor": next_cursor, "doctrine": None}


def _patch(data: dict[str, Any]) -> IssuePatch:
    return IssuePatch(title=data.get("title"), body=data.get("body"),
                      labels=tuple(data["labels"]) if data.get("labels") is not None else None,
                      add_labels=tuple(data.get("add_labels") or ()),
                      remove_labels=tuple(data.get("remove_labels") or ()),
                      priority=data.get("priority"))


def _key(*parts: str) -> str:
    return "sk-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class PushRunner:
    """Runs the push items of one job against one binding's connector."""

    def __init__(self, db: Database, binding: TrackerBinding, connector: IssueConnector,
                 job_key: str) -> None:
        self.db = db
        self.binding = binding
        self.connector = connector
        self.job_key = job_key

    def _mapping(self, wp: dict[str, str]) -> TrackerMapping | None:
        with self.db.read() as session:
            return session.scalar(select(TrackerMapping).where(
                TrackerMapping.binding_ref == self.binding.binding_ref,
                TrackerMapping.mission_slug == wp["mission_slug"],
                TrackerMapping.wp_id == wp["wp_id"]))

    def _record(self, wp: dict[str, str], issue: CanonicalIssue) -> None:
        with self.db.write() as session:
            row = session.scalar(select(TrackerMapping).where(
                TrackerMapping.binding_ref == self.binding.binding_ref,
                TrackerMapping.mission_slug == wp["mission_slug"],
                TrackerMapping.wp_id == wp["wp_id"]))
            if row is None:
                row = TrackerMapping(team_id=self.binding.team_id,
                                     binding_ref=self.binding.binding_ref,
                                     mission_slug=wp["mission_slug"], wp_id=wp["wp_id"])
                session.add(row)
            row.external_id, row.external_key = issue.ref.id, issue.ref.key
            row.external_url, row.updated_at = issue.ref.url, utcnow()

    def run(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        results = [self._one(index, item) for index, item in enumerate(items)]
        failed = sum(1 for r in results if r["outcome"] == "failed")
        status = "ok" if not failed else ("error" if failed == len(results) else "partial")
        return {"status": status,
                "summary": {"total": len(results), "succeeded": len(results) - failed,
                            "failed": failed, "skipped": 0}, "items": results}

    def _one(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        action = str(item.get("action") or "")
        out: dict[str, Any] = {"ref": item.get("ref"), "action": action, "outcome": "failed",
                               "remote_ref": None, "version": None, "message": None,
                               "work_package": item.get("work_package")}
        try:
            issue, outcome = self._apply(index, action, item)
        except (ConnectorError, TrackerProblem, ValueError, KeyError) as error:
            envelope = problem_json(error)
            out.update(message=envelope["message"], error_code=envelope["code"])
            return out
        out.update(outcome=outcome, remote_ref=issue.ref.to_dict(),
                   version=issue.updated_at.isoformat() if issue.updated_at else None)
        return out

    def _apply(self, index: int, action: str, item: dict[str, Any]
               ) -> tuple[CanonicalIssue, str]:
        patch_data = dict(item.get("patch") or {})
        target = item.get("target_status")
        status = CanonicalStatus(target) if target else None
        wp = item.get("work_package")
        issue_id = str((item.get("ref") or {}).get("id") or "")
        if isinstance(wp, dict):
            wp = {"mission_slug": str(wp["mission_slug"]), "wp_id": str(wp["wp_id"])}
            mapping = self._mapping(wp)
            if mapping is not None:
                action, issue_id = "update", mapping.external_id
            elif action != "create":
                raise TrackerProblem(404, "mapping_not_found",
                                     f"{wp['mission_slug']}/{wp['wp_id']} has no issue yet.")
        if action == "create":
            key = _key(self.binding.binding_ref, wp["mission_slug"], wp["wp_id"]) \
                if isinstance(wp, dict) else _key(self.job_key, str(index))
            issue = self.connector.create_issue(IssueDraft(
                title=str(patch_data.get("title") or "Untitled"),
                body=str(patch_data.get("body") or ""),
                labels=tuple(patch_data.get("labels") or patch_data.get("add_labels") or ()),
                status=status or CanonicalStatus.TODO,
                issue_type=CanonicalType(patch_data.get("issue_type") or "task"),
                priority=int(patch_data.get("priority") or 0), idempotency_key=key))
            if status is not None and issue.status is not status:
                issue = self.connector.transition(issue.ref.id, status)
            if isinstance(wp, dict):
                self._record(wp, issue)
            return issue, "created"
        if action not in ("update", "transition") or not issue_id:
            raise TrackerProblem(422, "invalid_push_item",
                                 f"Push item {index}: unknown action {action!r} or no ref.id.")
        issue = self.connector.update_issue(issue_id, _patch(patch_data)) \
            if action == "update" and patch_data else self.connector.get_issue(issue_id)
        if status is not None and issue.status is not status:
            issue = self.connector.transition(issue_id, status)
        if isinstance(wp, dict):
            self._record(wp, issue)
        return issue, "updated"
