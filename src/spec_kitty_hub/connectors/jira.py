"""Jira Cloud issues through the platform REST API v3.

Docs: https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
(``/rest/api/3/search/jql`` with ``nextPageToken``),
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/ (create,
edit, transitions), https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
(ADF descriptions), https://developer.atlassian.com/cloud/jira/platform/rate-limiting/.

Workflows differ per project, so statuses map by *status category* and then by name:
``new`` → todo; ``indeterminate`` → in_review when the name mentions review, blocked
when it mentions block, else in_progress; ``done`` → canceled when the name says
cancel/won't/declined, else done. A transition picks, among the transitions Jira
offers for the issue now, one into the right category whose name fits best; when
none exists it raises :class:`UnsupportedTransition` naming what is available.
Jira issue types are user-defined: unknown ones read as ``task`` (the name is kept in
``raw``). An idempotent create labels the issue ``sk-idem-<hash>`` (ADF has no
hidden comments) and looks that label up first.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from spec_kitty.core.tracker.models import (
    CanonicalIssue,
    CanonicalStatus,
    CanonicalType,
    ExternalRef,
    parse_timestamp,
)
from spec_kitty_hub.connectors.base import IssueDraft, IssuePatch
from spec_kitty_hub.connectors.errors import NotFound, UnexpectedResponse, UnsupportedTransition
from spec_kitty_hub.connectors.http import ProviderHttp, header_number

FIELDS = [
    "summary",
    "description",
    "status",
    "labels",
    "issuetype",
    "priority",
    "assignee",
    "created",
    "updated",
]
IDEM_PREFIX = "sk-idem-"
_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-\d+$")
_TYPES = {
    "epic": CanonicalType.EPIC,
    "story": CanonicalType.STORY,
    "bug": CanonicalType.BUG,
    "task": CanonicalType.TASK,
    "sub-task": CanonicalType.SUBTASK,
    "subtask": CanonicalType.SUBTASK,
}
_TYPE_NAMES = {
    CanonicalType.EPIC: "Epic",
    CanonicalType.STORY: "Story",
    CanonicalType.BUG: "Bug",
    CanonicalType.SUBTASK: "Subtask",
}
_PRIORITIES = {"highest": 1, "high": 2, "medium": 3, "low": 4, "lowest": 4}
_CATEGORY = {
    CanonicalStatus.TODO: "new",
    CanonicalStatus.IN_PROGRESS: "indeterminate",
    CanonicalStatus.IN_REVIEW: "indeterminate",
    CanonicalStatus.BLOCKED: "indeterminate",
    CanonicalStatus.DONE: "done",
    CanonicalStatus.CANCELED: "done",
}
_CANCEL = re.compile(r"cancel|won.?t|declin|reject", re.IGNORECASE)


def text_to_adf(text: str) -> dict[str, Any]:
    """Plain text to an ADF document: blank lines split paragraphs, newlines become hardBreaks."""
    content = []
    for paragraph in [p for p in text.split("\n\n") if p.strip()]:
        nodes: list[dict[str, Any]] = []
        for i, line in enumerate(paragraph.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(node: Any) -> str:
    if not isinstance(node, Mapping):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    inner = "".join(adf_to_text(child) for child in node.get("content") or [])
    if kind == "doc":
        return "\n\n".join(adf_to_text(child) for child in node.get("content") or [])
    return inner


def status_from_jira(name: str, category: str) -> CanonicalStatus:
    lowered = name.lower()
    if category == "new":
        return CanonicalStatus.TODO
    if category == "done":
        return CanonicalStatus.CANCELED if _CANCEL.search(name) else CanonicalStatus.DONE
    if "review" in lowered:
        return CanonicalStatus.IN_REVIEW
    if "block" in lowered:
        return CanonicalStatus.BLOCKED
    return CanonicalStatus.IN_PROGRESS


class JiraRateLimits:
    """429 (and 503) answers carry ``Retry-After`` seconds; ``X-RateLimit-Reset`` is ISO."""

    def wait_for(self, response: httpx.Response, now: float) -> float | None:
        if response.status_code not in (429, 503):
            return None
        retry_after = header_number(response.headers, "retry-after")
        if retry_after is not None:
            return retry_after
        reset = parse_timestamp(response.headers.get("x-ratelimit-reset"))
        if reset is not None:
            return max(reset.timestamp() - now, 0.0)
        return 5.0 if response.status_code == 429 else None

    def budget(self, response: httpx.Response) -> tuple[int | None, float | None]:
        remaining = header_number(response.headers, "x-ratelimit-remaining")
        reset = parse_timestamp(response.headers.get("x-ratelimit-reset"))
        return (None if remaining is None else int(remaining), reset.timestamp() if reset else None)


class JiraConnector:
    provider = "jira"

    def __init__(
        self, site_url: str, project_key: str, email: str, api_token: str, **http_options: Any
    ) -> None:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]+", project_key):
            raise ValueError(
                f"Jira project key must be upper-case letters/digits, got {project_key!r}"
            )
        self.workspace = project_key
        self.site_url = site_url.rstrip("/")
        credentials = base64.b64encode(f"{email}:{api_token}".encode()).decode()
        self.http = ProviderHttp(
            self.provider,
            self.site_url,
            {"Authorization": f"Basic {credentials}", "Accept": "application/json"},
            JiraRateLimits(),
            **http_options,
        )

    def close(self) -> None:
        self.http.close()

    def to_canonical(self, item: Mapping[str, Any]) -> CanonicalIssue:
        try:
            fields = item["fields"]
            status = fields["status"]
            type_name = str((fields.get("issuetype") or {}).get("name", "Task"))
            priority = str((fields.get("priority") or {}).get("name", "")).lower()
            labels = tuple(
                x for x in fields.get("labels") or [] if not str(x).startswith(IDEM_PREFIX)
            )
            assignee = fields.get("assignee") or {}
            return CanonicalIssue(
                ref=ExternalRef(
                    self.provider,
                    self.workspace,
                    str(item["id"]),
                    str(item["key"]),
                    f"{self.site_url}/browse/{item['key']}",
                ),
                title=str(fields["summary"]),
                body=adf_to_text(fields.get("description")),
                status=status_from_jira(str(status["name"]), str(status["statusCategory"]["key"])),
                issue_type=_TYPES.get(type_name.lower(), CanonicalType.TASK),
                priority=_PRIORITIES.get(priority, 0),
                labels=labels,
                assignees=(str(assignee["accountId"]),) if assignee.get("accountId") else (),
                created_at=parse_timestamp(fields.get("created")),
                updated_at=parse_timestamp(fields.get("updated")),
                raw={"status": status["name"], "issuetype": type_name},
            )
        except (KeyError, TypeError) as exc:
            raise UnexpectedResponse(self.provider, f"malformed issue: missing {exc}") from exc

    def _search(self, jql: str, page_size: int) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": FIELDS, "maxResults": min(page_size, 100)}
            if token:
                body["nextPageToken"] = token
            data = self.http.json("POST", "/rest/api/3/search/jql", json=body, idempotent=True)
            yield from data.get("issues", [])
            token = data.get("nextPageToken")
            if data.get("isLast", True) or not token:
                return

    def _jql(self, *clauses: str, order: str = "ORDER BY updated ASC") -> str:
        return " AND ".join([f'project = "{self.workspace}"', *clauses]) + f" {order}"

    def list_issues(
        self,
        *,
        updated_since: datetime | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> Iterator[CanonicalIssue]:
        clauses = []
        if updated_since is not None:
            # JQL compares in whole minutes; the caller's merge makes re-reads harmless.
            clauses.append(f'updated >= "{updated_since.astimezone(UTC):%Y-%m-%d %H:%M}"')
        for count, item in enumerate(self._search(self._jql(*clauses), page_size), start=1):
            yield self.to_canonical(item)
            if limit is not None and count >= limit:
                return

    def search_issues(self, text: str, *, limit: int = 20) -> list[CanonicalIssue]:
        needle = text.strip()
        if _KEY.match(needle.upper()):
            try:
                return [self.get_issue(needle.upper())]
            except NotFound:
                return []
        escaped = needle.replace("\\", "\\\\").replace('"', '\\"')
        found = self._search(self._jql(f'text ~ "{escaped}"'), limit)
        return [self.to_canonical(item) for _, item in zip(range(limit), found, strict=False)]

    def get_issue(self, issue_id: str) -> CanonicalIssue:
        item = self.http.json(
            "GET", f"/rest/api/3/issue/{issue_id}", params={"fields": ",".join(FIELDS)}
        )
        return self.to_canonical(item)

    @staticmethod
    def idempotency_label(key: str) -> str:
        return IDEM_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]

    def create_issue(self, draft: IssueDraft) -> CanonicalIssue:
        labels = list(draft.labels)
        if draft.idempotency_key:
            label = self.idempotency_label(draft.idempotency_key)
            existing = next(self._search(self._jql(f'labels = "{label}"'), 1), None)
            if existing is not None:
                return self.to_canonical(existing)
            labels.append(label)
        fields: dict[str, Any] = {
            "project": {"key": self.workspace},
            "summary": draft.title,
            "issuetype": {"name": _TYPE_NAMES.get(draft.issue_type, "Task")},
            "labels": labels,
        }
        if draft.body:
            fields["description"] = text_to_adf(draft.body)
        created = self.http.json(
            "POST", "/rest/api/3/issue", json={"fields": fields}, idempotent=False
        )
        issue = self.get_issue(str(created["id"]))
        return (
            issue
            if draft.status is CanonicalStatus.TODO
            else self.transition(issue.ref.id, draft.status)
        )

    def update_issue(self, issue_id: str, patch: IssuePatch) -> CanonicalIssue:
        fields: dict[str, Any] = {}
        if patch.title is not None:
            fields["summary"] = patch.title
        if patch.body is not None:
            fields["description"] = text_to_adf(patch.body)
        update: dict[str, Any] = {}
        if patch.labels is not None:
            hidden = [x for x in self._raw_labels(issue_id) if x.startswith(IDEM_PREFIX)]
            fields["labels"] = [*patch.labels, *hidden]
        ops = [{"add": x} for x in patch.add_labels] + [{"remove": x} for x in patch.remove_labels]
        if ops:
            update["labels"] = ops
        if fields or update:
            self.http.request(
                "PUT", f"/rest/api/3/issue/{issue_id}", json={"fields": fields, "update": update}
            )
        return self.get_issue(issue_id)

    def _raw_labels(self, issue_id: str) -> list[str]:
        item = self.http.json("GET", f"/rest/api/3/issue/{issue_id}", params={"fields": "labels"})
        return [str(x) for x in item["fields"].get("labels") or []]

    def transition(self, issue_id: str, status: CanonicalStatus) -> CanonicalIssue:
        current = self.get_issue(issue_id)
        if current.status is status:
            return current
        offered = self.http.json("GET", f"/rest/api/3/issue/{issue_id}/transitions").get(
            "transitions", []
        )
        best: tuple[int, str] | None = None
        for transition in offered:
            to = transition.get("to") or {}
            name, category = (
                str(to.get("name", "")),
                str((to.get("statusCategory") or {}).get("key")),
            )
            if category != _CATEGORY[status]:
                continue
            score = 2 if status_from_jira(name, category) is status else 0
            if best is None or score > best[0]:
                best = (score, str(transition["id"]))
        if best is None:
            names = ", ".join(
                f"{t.get('name')} (→ {(t.get('to') or {}).get('name')})" for t in offered
            )
            raise UnsupportedTransition(
                self.provider,
                f"{current.ref.key}: no transition to {status.value}; "
                f"Jira offers: {names or 'none'}",
            )
        self.http.request(
            "POST",
            f"/rest/api/3/issue/{issue_id}/transitions",
            json={"transition": {"id": best[1]}},
            idempotent=False,
        )
        return self.get_issue(issue_id)
