"""GitLab project issues through the REST API v4.

Docs: https://docs.gitlab.com/api/issues/, https://docs.gitlab.com/api/rest/#pagination,
https://docs.gitlab.com/security/rate_limits/.

Issues are addressed by project-scoped ``iid``. Status mapping: ``opened`` → todo, or
the status its scoped label ``status::<name>`` names; ``closed`` → done, or canceled
when it carries ``status::canceled`` (GitLab has no close reason). Transitions use
``state_event`` (close/reopen) plus ``add_labels``/``remove_labels``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from spec_kitty.core.tracker.models import (
    CanonicalIssue,
    CanonicalStatus,
    ExternalRef,
    parse_timestamp,
)
from spec_kitty_hub.connectors.base import (
    IssueDraft,
    IssuePatch,
    labels_for_status,
    split_status_labels,
    strip_marker,
    with_marker,
)
from spec_kitty_hub.connectors.errors import NotFound, UnexpectedResponse
from spec_kitty_hub.connectors.http import ProviderHttp, header_number

PREFIX = "status::"


class GitLabRateLimits:
    """429 answers carry ``Retry-After`` and ``RateLimit-Reset`` (epoch seconds)."""

    def wait_for(self, response: httpx.Response, now: float) -> float | None:
        if response.status_code != 429:
            return None
        retry_after = header_number(response.headers, "retry-after")
        if retry_after is not None:
            return retry_after
        reset = header_number(response.headers, "ratelimit-reset")
        return max(reset - now, 0.0) if reset is not None else 60.0

    def budget(self, response: httpx.Response) -> tuple[int | None, float | None]:
        remaining = header_number(response.headers, "ratelimit-remaining")
        return (
            None if remaining is None else int(remaining),
            header_number(response.headers, "ratelimit-reset"),
        )


class GitLabConnector:
    provider = "gitlab"

    def __init__(
        self, project: str, token: str, *, base_url: str = "https://gitlab.com", **http_options: Any
    ) -> None:
        if not project.strip():
            raise ValueError("GitLab project (path or numeric id) must not be empty")
        self.workspace = project
        self._base = f"/api/v4/projects/{quote(project, safe='')}"
        self.http = ProviderHttp(
            self.provider, base_url, {"PRIVATE-TOKEN": token}, GitLabRateLimits(), **http_options
        )

    def close(self) -> None:
        self.http.close()

    def to_canonical(self, item: Mapping[str, Any]) -> CanonicalIssue:
        try:
            plain, labelled = split_status_labels(
                PREFIX, [str(x) for x in item.get("labels") or []]
            )
            if item["state"] == "closed":
                canceled = labelled is CanonicalStatus.CANCELED
                status = CanonicalStatus.CANCELED if canceled else CanonicalStatus.DONE
            else:
                status = (
                    labelled
                    if labelled not in (None, CanonicalStatus.CANCELED)
                    else CanonicalStatus.TODO
                )
            body, _ = strip_marker(item.get("description"))
            iid = str(item["iid"])
            return CanonicalIssue(
                ref=ExternalRef(self.provider, self.workspace, iid, f"#{iid}", item.get("web_url")),
                title=str(item["title"]),
                body=body,
                status=status or CanonicalStatus.TODO,
                labels=plain,
                assignees=tuple(a["username"] for a in item.get("assignees") or []),
                created_at=parse_timestamp(item.get("created_at")),
                updated_at=parse_timestamp(item.get("updated_at")),
                raw={"state": item["state"], "id": item.get("id")},
            )
        except (KeyError, TypeError) as exc:
            raise UnexpectedResponse(self.provider, f"malformed issue: missing {exc}") from exc

    def _pages(self, params: dict[str, Any]) -> Iterator[list[Any]]:
        query = dict(params)
        while True:
            response = self.http.request("GET", f"{self._base}/issues", params=query)
            yield response.json()
            next_page = response.headers.get("x-next-page", "").strip()
            if next_page:
                query["page"] = next_page
                continue
            link = response.links.get("next", {}).get("url")
            if not link:
                return
            query = dict(httpx.URL(link).params)

    def list_issues(
        self,
        *,
        updated_since: datetime | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> Iterator[CanonicalIssue]:
        params: dict[str, Any] = {
            "state": "all",
            "order_by": "updated_at",
            "sort": "asc",
            "per_page": min(page_size, 100),
        }
        if updated_since is not None:
            params["updated_after"] = updated_since.astimezone(UTC).isoformat()
        count = 0
        for page in self._pages(params):
            for item in page:
                yield self.to_canonical(item)
                count += 1
                if limit is not None and count >= limit:
                    return

    def search_issues(self, text: str, *, limit: int = 20) -> list[CanonicalIssue]:
        iid = text.strip().lstrip("#")
        if iid.isdigit():
            try:
                return [self.get_issue(iid)]
            except NotFound:
                return []
        page = next(self._pages({"state": "all", "search": text, "per_page": min(limit, 100)}))
        return [self.to_canonical(item) for item in page][:limit]

    def get_issue(self, issue_id: str) -> CanonicalIssue:
        return self.to_canonical(
            self.http.json("GET", f"{self._base}/issues/{issue_id.lstrip('#')}")
        )

    def _find_by_key(self, key: str) -> CanonicalIssue | None:
        page = next(
            self._pages({"state": "all", "order_by": "created_at", "sort": "desc", "per_page": 100})
        )
        for item in page:
            if strip_marker(item.get("description"))[1] == key:
                return self.to_canonical(item)
        return None

    def create_issue(self, draft: IssueDraft) -> CanonicalIssue:
        if draft.idempotency_key and (existing := self._find_by_key(draft.idempotency_key)):
            return existing
        labels = labels_for_status(PREFIX, draft.labels, draft.status, label_canceled=True)
        payload = {
            "title": draft.title,
            "description": with_marker(draft.body, draft.idempotency_key),
            "labels": ",".join(labels),
        }
        issue = self.to_canonical(
            self.http.json("POST", f"{self._base}/issues", json=payload, idempotent=False)
        )
        if draft.status in (CanonicalStatus.DONE, CanonicalStatus.CANCELED):
            issue = self.to_canonical(
                self.http.json(
                    "PUT", f"{self._base}/issues/{issue.ref.id}", json={"state_event": "close"}
                )
            )
        return issue

    def update_issue(self, issue_id: str, patch: IssuePatch) -> CanonicalIssue:
        current = self.get_issue(issue_id)
        payload: dict[str, Any] = {}
        if patch.title is not None:
            payload["title"] = patch.title
        if patch.body is not None:
            raw = self.http.json("GET", f"{self._base}/issues/{issue_id}")
            payload["description"] = with_marker(
                patch.body, strip_marker(raw.get("description"))[1]
            )
        labels = patch.apply_labels(current.labels)
        if labels != current.labels:
            full = labels_for_status(PREFIX, labels, current.status, label_canceled=True)
            payload["labels"] = ",".join(full)
        if not payload:
            return current
        return self.to_canonical(
            self.http.json("PUT", f"{self._base}/issues/{issue_id}", json=payload)
        )

    def transition(self, issue_id: str, status: CanonicalStatus) -> CanonicalIssue:
        current = self.get_issue(issue_id)
        if current.status is status:
            return current
        target = labels_for_status(PREFIX, (), status, label_canceled=True)
        stale = [
            label
            for label in labels_for_status(PREFIX, (), current.status, label_canceled=True)
            if label not in target
        ]
        payload: dict[str, Any] = {
            "state_event": "close"
            if status in (CanonicalStatus.DONE, CanonicalStatus.CANCELED)
            else "reopen",
            "add_labels": ",".join(target),
            "remove_labels": ",".join(stale),
        }
        return self.to_canonical(
            self.http.json("PUT", f"{self._base}/issues/{issue_id}", json=payload)
        )
