"""Linear issues through the GraphQL API.

Docs: https://linear.app/developers/graphql (endpoint, ``Authorization: <API_KEY>``),
https://linear.app/developers/pagination, https://linear.app/developers/filtering,
https://linear.app/developers/rate-limiting (HTTP 400 with ``RATELIMITED``;
``X-RateLimit-Requests-Reset`` in epoch milliseconds).

Workspace is a team key (``ENG``). Workflow states map by ``type``: triage, backlog and
unstarted → todo; started → in_review / blocked when the state's name says so, else
in_progress; completed → done; canceled → canceled. A transition picks the team's
state of the right type whose name fits best. Labels are team labels addressed by id;
missing ones are created. An unknown state type is :class:`UnknownVocabulary`.
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
    UnknownVocabulary,
    parse_timestamp,
)
from spec_kitty_hub.connectors.base import IssueDraft, IssuePatch, strip_marker, with_marker
from spec_kitty_hub.connectors.errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    UnexpectedResponse,
)
from spec_kitty_hub.connectors.http import ProviderHttp, header_number

ISSUE_FIELDS = """id identifier title description priority url createdAt updatedAt
state { id name type } labels(first: 100) { nodes { id name } } assignee { name }"""
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*-\d+$")
_STATE_TYPES = {
    "triage": CanonicalStatus.TODO,
    "backlog": CanonicalStatus.TODO,
    "unstarted": CanonicalStatus.TODO,
    "started": CanonicalStatus.IN_PROGRESS,
    "completed": CanonicalStatus.DONE,
    "canceled": CanonicalStatus.CANCELED,
}
_TARGET_TYPE = {
    CanonicalStatus.TODO: "unstarted",
    CanonicalStatus.IN_PROGRESS: "started",
    CanonicalStatus.IN_REVIEW: "started",
    CanonicalStatus.BLOCKED: "started",
    CanonicalStatus.DONE: "completed",
    CanonicalStatus.CANCELED: "canceled",
}


def status_from_state(name: str, kind: str) -> CanonicalStatus:
    if kind not in _STATE_TYPES:
        raise UnknownVocabulary("workflow state type", kind)
    status = _STATE_TYPES[kind]
    if status is CanonicalStatus.IN_PROGRESS:
        lowered = name.lower()
        if "review" in lowered:
            return CanonicalStatus.IN_REVIEW
        if "block" in lowered:
            return CanonicalStatus.BLOCKED
    return status


def _error_codes(response: httpx.Response) -> list[str]:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return []
    return [
        str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, Mapping)
    ]


class LinearRateLimits:
    def wait_for(self, response: httpx.Response, now: float) -> float | None:
        if response.status_code != 429 and "RATELIMITED" not in _error_codes(response):
            return None
        retry_after = header_number(response.headers, "retry-after")
        if retry_after is not None:
            return retry_after
        reset_ms = header_number(response.headers, "x-ratelimit-requests-reset")
        return max(reset_ms / 1000 - now, 0.0) if reset_ms is not None else 60.0

    def budget(self, response: httpx.Response) -> tuple[int | None, float | None]:
        remaining = header_number(response.headers, "x-ratelimit-requests-remaining")
        reset_ms = header_number(response.headers, "x-ratelimit-requests-reset")
        return (
            None if remaining is None else int(remaining),
            reset_ms / 1000 if reset_ms else None,
        )


class LinearConnector:
    provider = "linear"

    def __init__(
        self,
        team_key: str,
        api_key: str,
        *,
        base_url: str = "https://api.linear.app",
        oauth: bool = False,
        **http_options: Any,
    ) -> None:
        if not team_key.strip():
            raise ValueError("Linear team key must not be empty")
        self.workspace = team_key
        auth = f"Bearer {api_key}" if oauth else api_key
        self.http = ProviderHttp(
            self.provider, base_url, {"Authorization": auth}, LinearRateLimits(), **http_options
        )
        self._states: list[dict[str, Any]] | None = None
        self._label_ids: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def _gql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, idempotent: bool = True
    ) -> Any:
        from spec_kitty_hub.connectors.errors import ConnectorError

        try:
            response = self.http.request(
                "POST",
                "/graphql",
                json={"query": query, "variables": variables or {}},
                idempotent=idempotent,
            )
            data = response.json()
        except InvalidRequest as exc:
            raise self._graphql_error(exc) from exc
        except ValueError as exc:
            raise UnexpectedResponse(self.provider, "answer is not JSON") from exc
        if data.get("errors"):
            message = "; ".join(str(e.get("message")) for e in data["errors"])
            codes = [str((e.get("extensions") or {}).get("code", "")) for e in data["errors"]]
            if any("not found" in str(e.get("message", "")).lower() for e in data["errors"]):
                raise NotFound(self.provider, message)
            error: ConnectorError = InvalidRequest(self.provider, f"{message} ({', '.join(codes)})")
            raise error
        return data["data"]

    def _graphql_error(self, exc: InvalidRequest) -> Exception:
        text = exc.message
        if "AUTHENTICATION" in text.upper() or "not authenticated" in text:
            return AuthenticationFailed(self.provider, text, status=exc.status)
        if "FORBIDDEN" in text.upper():
            return PermissionDenied(self.provider, text, status=exc.status)
        if "not found" in text.lower():
            return NotFound(self.provider, text, status=exc.status)
        return exc

    def to_canonical(self, node: Mapping[str, Any]) -> CanonicalIssue:
        try:
            state = node["state"]
            body, _ = strip_marker(node.get("description"))
            assignee = node.get("assignee") or {}
            return CanonicalIssue(
                ref=ExternalRef(
                    self.provider,
                    self.workspace,
                    str(node["id"]),
                    str(node["identifier"]),
                    node.get("url"),
                ),
                title=str(node["title"]),
                body=body,
                status=status_from_state(str(state["name"]), str(state["type"])),
                priority=int(node.get("priority") or 0),
                labels=tuple(str(x["name"]) for x in (node.get("labels") or {}).get("nodes", [])),
                assignees=(str(assignee["name"]),) if assignee.get("name") else (),
                created_at=parse_timestamp(node.get("createdAt")),
                updated_at=parse_timestamp(node.get("updatedAt")),
                raw={"state": state["name"], "state_type": state["type"]},
            )
        except (KeyError, TypeError) as exc:
            raise UnexpectedResponse(self.provider, f"malformed issue: missing {exc}") from exc

    def _issues(
        self, flt: Mapping[str, Any], page_size: int, order: str = "updatedAt"
    ) -> Iterator[Any]:
        query = f"""query Issues($first: Int, $after: String, $filter: IssueFilter) {{
          issues(first: $first, after: $after, filter: $filter, orderBy: {order}) {{
            nodes {{ {ISSUE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        after: str | None = None
        while True:
            page = self._gql(query, {"first": min(page_size, 250), "after": after, "filter": flt})[
                "issues"
            ]
            yield from page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def _team_filter(self) -> dict[str, Any]:
        return {"team": {"key": {"eq": self.workspace}}}

    def list_issues(
        self,
        *,
        updated_since: datetime | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> Iterator[CanonicalIssue]:
        flt = self._team_filter()
        if updated_since is not None:
            flt["updatedAt"] = {"gt": updated_since.astimezone(UTC).isoformat()}
        for count, node in enumerate(self._issues(flt, page_size), start=1):
            yield self.to_canonical(node)
            if limit is not None and count >= limit:
                return

    def search_issues(self, text: str, *, limit: int = 20) -> list[CanonicalIssue]:
        needle = text.strip()
        if _IDENTIFIER.match(needle):
            try:
                return [self.get_issue(needle.upper())]
            except NotFound:
                return []
        flt = {
            **self._team_filter(),
            "or": [
                {"title": {"containsIgnoreCase": needle}},
                {"description": {"containsIgnoreCase": needle}},
            ],
        }
        nodes = self._issues(flt, limit)
        return [self.to_canonical(n) for _, n in zip(range(limit), nodes, strict=False)]

    def get_issue(self, issue_id: str) -> CanonicalIssue:
        data = self._gql(
            f"query Issue($id: String!) {{ issue(id: $id) {{ {ISSUE_FIELDS} }} }}", {"id": issue_id}
        )
        return self.to_canonical(data["issue"])

    def workflow_states(self) -> list[dict[str, Any]]:
        if self._states is None:
            data = self._gql(
                """query States($filter: WorkflowStateFilter) {
              workflowStates(first: 100, filter: $filter) {
                nodes { id name type position team { id } } } }""",
                {"filter": self._team_filter()},
            )
            self._states = list(data["workflowStates"]["nodes"])
            if not self._states:
                raise NotFound(self.provider, f"team {self.workspace!r} has no workflow states")
        return self._states

    def _team_id(self) -> str:
        return str(self.workflow_states()[0]["team"]["id"])

    def _state_for(self, status: CanonicalStatus) -> str:
        kind = _TARGET_TYPE[status]
        candidates = [s for s in self.workflow_states() if s["type"] == kind]
        if not candidates and status is CanonicalStatus.TODO:
            candidates = [s for s in self.workflow_states() if s["type"] in ("backlog", "triage")]
        if not candidates:
            from spec_kitty_hub.connectors.errors import UnsupportedTransition

            raise UnsupportedTransition(self.provider, f"team {self.workspace} has no {kind} state")
        fitting = [s for s in candidates if status_from_state(s["name"], s["type"]) is status]
        return str(sorted(fitting or candidates, key=lambda s: s["position"])[0]["id"])

    def _label_id(self, name: str) -> str:
        if name in self._label_ids:
            return self._label_ids[name]
        data = self._gql(
            """query Labels($filter: IssueLabelFilter) {
          issueLabels(first: 10, filter: $filter) { nodes { id name } } }""",
            {"filter": {"name": {"eq": name}}},
        )
        nodes = data["issueLabels"]["nodes"]
        if nodes:
            label_id = str(nodes[0]["id"])
        else:
            created = self._gql(
                """mutation NewLabel($input: IssueLabelCreateInput!) {
              issueLabelCreate(input: $input) { success issueLabel { id } } }""",
                {"input": {"name": name, "teamId": self._team_id()}},
                idempotent=False,
            )
            label_id = str(created["issueLabelCreate"]["issueLabel"]["id"])
        self._label_ids[name] = label_id
        return label_id

    def _find_by_key(self, key: str) -> CanonicalIssue | None:
        flt = {**self._team_filter(), "description": {"containsIgnoreCase": key}}
        for node in self._issues(flt, 20, order="createdAt"):
            if strip_marker(node.get("description"))[1] == key:
                return self.to_canonical(node)
        return None

    def create_issue(self, draft: IssueDraft) -> CanonicalIssue:
        if draft.idempotency_key and (existing := self._find_by_key(draft.idempotency_key)):
            return existing
        payload = {
            "teamId": self._team_id(),
            "title": draft.title,
            "description": with_marker(draft.body, draft.idempotency_key),
            "priority": draft.priority,
            "stateId": self._state_for(draft.status),
            "labelIds": [self._label_id(name) for name in draft.labels],
        }
        data = self._gql(
            f"""mutation Create($input: IssueCreateInput!) {{
          issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }} }}""",
            {"input": payload},
            idempotent=False,
        )
        return self.to_canonical(data["issueCreate"]["issue"])

    def _update(self, issue_id: str, changes: Mapping[str, Any]) -> CanonicalIssue:
        data = self._gql(
            f"""mutation Update($id: String!, $input: IssueUpdateInput!) {{
          issueUpdate(id: $id, input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }} }}""",
            {"id": issue_id, "input": dict(changes)},
        )
        return self.to_canonical(data["issueUpdate"]["issue"])

    def update_issue(self, issue_id: str, patch: IssuePatch) -> CanonicalIssue:
        changes: dict[str, Any] = {}
        if patch.title is not None:
            changes["title"] = patch.title
        if patch.body is not None:
            raw = self._gql(
                "query D($id: String!) { issue(id: $id) { description } }", {"id": issue_id}
            )
            changes["description"] = with_marker(
                patch.body, strip_marker(raw["issue"]["description"])[1]
            )
        if patch.priority is not None:
            changes["priority"] = patch.priority
        if patch.labels is not None:
            changes["labelIds"] = [self._label_id(n) for n in patch.apply_labels(())]
        else:
            if patch.add_labels:
                changes["addedLabelIds"] = [self._label_id(n) for n in patch.add_labels]
            if patch.remove_labels:
                changes["removedLabelIds"] = [self._label_id(n) for n in patch.remove_labels]
        return self._update(issue_id, changes) if changes else self.get_issue(issue_id)

    def transition(self, issue_id: str, status: CanonicalStatus) -> CanonicalIssue:
        current = self.get_issue(issue_id)
        if current.status is status:
            return current
        return self._update(current.ref.id, {"stateId": self._state_for(status)})
