"""GitHub issues through the REST API (version 2022-11-28).

Docs: https://docs.github.com/en/rest/issues/issues,
https://docs.github.com/en/rest/issues/labels, https://docs.github.com/en/rest/search/search,
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api.

Status mapping: open → todo, or the status its ``status:<name>`` label names
(``status:in-progress``, ``status:in-review``, ``status:blocked``); closed with
``state_reason`` ``not_planned`` → canceled, other closed → done. Moving to done
closes as ``completed``, to canceled as ``not_planned``; reopening drops the reason.
Pull requests, which the issues list also returns, are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

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
from spec_kitty_hub.connectors.errors import UnexpectedResponse
from spec_kitty_hub.connectors.http import ProviderHttp, header_number

PREFIX = "status:"
_SECONDARY = "secondary rate limit"


class GitHubRateLimits:
    """403/429 with ``x-ratelimit-remaining: 0`` (primary: wait for ``x-ratelimit-reset``)
    or a secondary-limit message (wait ``retry-after``, else at least a minute)."""

    def wait_for(self, response: httpx.Response, now: float) -> float | None:
        if response.status_code not in (403, 429):
            return None
        retry_after = header_number(response.headers, "retry-after")
        if retry_after is not None:
            return retry_after
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = header_number(response.headers, "x-ratelimit-reset") or now + 60
            return max(reset - now, 0.0)
        if _SECONDARY in response.text.lower() or response.status_code == 429:
            return 60.0
        return None

    def budget(self, response: httpx.Response) -> tuple[int | None, float | None]:
        remaining = header_number(response.headers, "x-ratelimit-remaining")
        return (
            None if remaining is None else int(remaining),
            header_number(response.headers, "x-ratelimit-reset"),
        )


class GitHubConnector:
    provider = "github"

    def __init__(
        self,
        repo: str,
        token: str,
        *,
        base_url: str = "https://api.github.com",
        **http_options: Any,
    ) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            raise ValueError(f"GitHub repository must look like owner/name, got {repo!r}")
        self.workspace = repo
        self.http = ProviderHttp(
            self.provider,
            base_url,
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            GitHubRateLimits(),
            **http_options,
        )

    def close(self) -> None:
        self.http.close()

    # -- reading ---------------------------------------------------------------
    def to_canonical(self, item: Mapping[str, Any]) -> CanonicalIssue:
        try:
            names = [
                label["name"] if isinstance(label, Mapping) else str(label)
                for label in item.get("labels") or []
            ]
            plain, labelled = split_status_labels(PREFIX, names)
            if item["state"] == "closed":
                not_planned = item.get("state_reason") == "not_planned"
                status = CanonicalStatus.CANCELED if not_planned else CanonicalStatus.DONE
            else:
                status = labelled or CanonicalStatus.TODO
            body, _ = strip_marker(item.get("body"))
            number = str(item["number"])
            return CanonicalIssue(
                ref=ExternalRef(
                    self.provider, self.workspace, number, f"#{number}", item.get("html_url")
                ),
                title=str(item["title"]),
                body=body,
                status=status,
                labels=plain,
                assignees=tuple(a["login"] for a in item.get("assignees") or []),
                created_at=parse_timestamp(item.get("created_at")),
                updated_at=parse_timestamp(item.get("updated_at")),
                raw={
                    "state": item["state"],
                    "state_reason": item.get("state_reason"),
                    "node_id": item.get("node_id"),
                },
            )
        except (KeyError, TypeError) as exc:
            raise UnexpectedResponse(self.provider, f"malformed issue: missing {exc}") from exc

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[httpx.Response]:
        url: str | None = path
        query: dict[str, Any] | None = params
        while url:
            response = self.http.request("GET", url, params=query)
            yield response
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries every parameter

    def list_issues(
        self,
        *,
        updated_since: datetime | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> Iterator[CanonicalIssue]:
        params: dict[str, Any] = {
            "state": "all",
            "sort": "updated",
            "direction": "asc",
            "per_page": min(page_size, 100),
        }
        if updated_since is not None:
            params["since"] = updated_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        count = 0
        for response in self._pages(f"/repos/{self.workspace}/issues", params):
            for item in response.json():
                if "pull_request" in item:
                    continue
                yield self.to_canonical(item)
                count += 1
                if limit is not None and count >= limit:
                    return

    def search_issues(self, text: str, *, limit: int = 20) -> list[CanonicalIssue]:
        number = text.strip().lstrip("#")
        if number.isdigit():
            from spec_kitty_hub.connectors.errors import NotFound

            try:
                return [self.get_issue(number)]
            except NotFound:
                return []
        query = f'repo:{self.workspace} is:issue "{text.replace(chr(34), " ")}"'
        data = self.http.json(
            "GET", "/search/issues", params={"q": query, "per_page": min(limit, 100)}
        )
        return [self.to_canonical(item) for item in data.get("items", [])][:limit]

    def get_issue(self, issue_id: str) -> CanonicalIssue:
        item = self.http.json("GET", f"/repos/{self.workspace}/issues/{issue_id.lstrip('#')}")
        return self.to_canonical(item)

    def _find_by_key(self, key: str) -> CanonicalIssue | None:
        # Recently created issues first; the issue an interrupted create made is among them.
        params = {"state": "all", "sort": "created", "direction": "desc", "per_page": 100}
        for response in self._pages(f"/repos/{self.workspace}/issues", params):
            for item in response.json():
                if strip_marker(item.get("body"))[1] == key:
                    return self.to_canonical(item)
            break
        return None

    # -- writing ---------------------------------------------------------------
    def create_issue(self, draft: IssueDraft) -> CanonicalIssue:
        if draft.idempotency_key and (existing := self._find_by_key(draft.idempotency_key)):
            return existing
        payload = {
            "title": draft.title,
            "body": with_marker(draft.body, draft.idempotency_key),
            "labels": labels_for_status(PREFIX, draft.labels, draft.status),
        }
        item = self.http.json(
            "POST", f"/repos/{self.workspace}/issues", json=payload, idempotent=False
        )
        issue = self.to_canonical(item)
        if draft.status in (CanonicalStatus.DONE, CanonicalStatus.CANCELED):
            issue = self.transition(issue.ref.id, draft.status)
        return issue

    def update_issue(self, issue_id: str, patch: IssuePatch) -> CanonicalIssue:
        current = self.get_issue(issue_id)
        payload: dict[str, Any] = {}
        if patch.title is not None:
            payload["title"] = patch.title
        if patch.body is not None:
            _, key = strip_marker(self._raw_body(issue_id))
            payload["body"] = with_marker(patch.body, key)
        labels = patch.apply_labels(current.labels)
        if labels != current.labels:
            payload["labels"] = labels_for_status(PREFIX, labels, current.status)
        if not payload:
            return current
        item = self.http.json(
            "PATCH", f"/repos/{self.workspace}/issues/{issue_id}", json=payload, idempotent=True
        )
        return self.to_canonical(item)

    def _raw_body(self, issue_id: str) -> str:
        item = self.http.json("GET", f"/repos/{self.workspace}/issues/{issue_id}")
        return str(item.get("body") or "")

    def transition(self, issue_id: str, status: CanonicalStatus) -> CanonicalIssue:
        current = self.get_issue(issue_id)
        if current.status is status:
            return current
        closed = (CanonicalStatus.DONE, CanonicalStatus.CANCELED)
        if current.status in closed and status in closed:
            # state_reason only changes together with the state: reopen, then close again.
            self.http.json(
                "PATCH",
                f"/repos/{self.workspace}/issues/{issue_id}",
                json={"state": "open"},
                idempotent=True,
            )
        payload: dict[str, Any] = {"labels": labels_for_status(PREFIX, current.labels, status)}
        if status is CanonicalStatus.DONE:
            payload.update(state="closed", state_reason="completed")
        elif status is CanonicalStatus.CANCELED:
            payload.update(state="closed", state_reason="not_planned")
        else:
            payload["state"] = "open"
        item = self.http.json(
            "PATCH", f"/repos/{self.workspace}/issues/{issue_id}", json=payload, idempotent=True
        )
        return self.to_canonical(item)
