"""Linear GraphQL API double: issues, workflow states, labels.

Follows Linear's public developer documentation:
* Endpoint and authentication: https://linear.app/developers/graphql (``POST /graphql``;
  personal API keys as ``Authorization: <API_KEY>``, OAuth tokens as
  ``Authorization: Bearer <token>``);
* Pagination: https://linear.app/developers/pagination (Relay connections with
  ``first``/``after``, ``nodes`` and ``pageInfo { hasNextPage endCursor }``; 50 by
  default; ``orderBy: createdAt | updatedAt``);
* Filtering: https://linear.app/developers/filtering (``filter`` with comparators such
  as ``eq``, ``gt``/``gte``, ``containsIgnoreCase``, ``and``/``or``);
* Rate limiting: https://linear.app/developers/rate-limiting (every answer carries
  ``X-RateLimit-Requests-Limit``/``-Remaining``/``-Reset`` (epoch milliseconds); an
  exhausted budget answers HTTP 400 with an error whose ``extensions.code`` is
  ``RATELIMITED``);
* Schema names (``issues``, ``issue``, ``workflowStates``, ``issueLabels``,
  ``issueCreate``, ``issueUpdate``, ``issueLabelCreate``, ``IssueCreateInput``,
  ``IssueUpdateInput``; workflow state ``type`` ∈ triage, backlog, unstarted, started,
  completed, canceled) from Linear's published schema. The double serves a subset
  of that schema through graphql-core, so a query naming a field Linear does not
  have fails validation here as it would there.
"""

from __future__ import annotations

import base64
import itertools
import time
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync

from doubles.http_double import HttpDouble, Request, Response

SDL = """
scalar DateTime
enum PaginationOrderBy { createdAt updatedAt }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type Team { id: ID! key: String! name: String! }
type User { id: ID! name: String! email: String }
type WorkflowState { id: ID! name: String! type: String! position: Float! team: Team! }
type WorkflowStateConnection { nodes: [WorkflowState!]! pageInfo: PageInfo! }
type IssueLabel { id: ID! name: String! }
type IssueLabelConnection { nodes: [IssueLabel!]! pageInfo: PageInfo! }
type Issue {
  id: ID! identifier: String! number: Float! title: String! description: String
  priority: Float! url: String! createdAt: DateTime! updatedAt: DateTime!
  state: WorkflowState! team: Team! assignee: User parent: Issue
  labels(first: Int): IssueLabelConnection!
}
type IssueConnection { nodes: [Issue!]! pageInfo: PageInfo! }
input IDComparator { eq: ID neq: ID in: [ID!] }
input StringComparator { eq: String neq: String containsIgnoreCase: String in: [String!] }
input DateComparator { gt: DateTime gte: DateTime lt: DateTime lte: DateTime }
input NumberComparator { eq: Float }
input TeamFilter { id: IDComparator key: StringComparator }
input IssueFilter {
  id: IDComparator team: TeamFilter updatedAt: DateComparator title: StringComparator
  description: StringComparator number: NumberComparator and: [IssueFilter!] or: [IssueFilter!]
}
input WorkflowStateFilter { team: TeamFilter type: StringComparator name: StringComparator }
input IssueLabelFilter { name: StringComparator team: TeamFilter }
input IssueCreateInput {
  teamId: String! title: String description: String priority: Int stateId: String
  labelIds: [String!] assigneeId: String parentId: String
}
input IssueUpdateInput {
  title: String description: String priority: Int stateId: String labelIds: [String!]
  addedLabelIds: [String!] removedLabelIds: [String!] assigneeId: String parentId: String
}
input IssueLabelCreateInput { name: String! teamId: String color: String }
type IssuePayload { success: Boolean! issue: Issue lastSyncId: Float! }
type IssueLabelPayload { success: Boolean! issueLabel: IssueLabel! lastSyncId: Float! }
type Query {
  issues(first: Int, after: String, filter: IssueFilter, orderBy: PaginationOrderBy): IssueConnection!
  issue(id: String!): Issue!
  workflowStates(first: Int, after: String, filter: WorkflowStateFilter): WorkflowStateConnection!
  issueLabels(first: Int, after: String, filter: IssueLabelFilter): IssueLabelConnection!
}
type Mutation {
  issueCreate(input: IssueCreateInput!): IssuePayload!
  issueUpdate(id: String!, input: IssueUpdateInput!): IssuePayload!
  issueLabelCreate(input: IssueLabelCreateInput!): IssueLabelPayload!
}
"""

DEFAULT_STATES = [
    ("Backlog", "backlog"),
    ("Todo", "unstarted"),
    ("In Progress", "started"),
    ("In Review", "started"),
    ("Done", "completed"),
    ("Canceled", "canceled"),
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"c:{index}".encode()).decode()


def _uncursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1]) + 1
    except (ValueError, IndexError) as exc:
        raise GraphQLError("Argument Validation Error: invalid cursor") from exc


def _connection(items: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    start = _uncursor(after)
    size = 50 if first is None else first
    if not 0 <= size <= 250:
        raise GraphQLError("Argument Validation Error: first must be between 0 and 250")
    chunk = items[start : start + size]
    end = start + len(chunk) - 1
    return {
        "nodes": chunk,
        "pageInfo": {
            "hasNextPage": start + size < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if chunk else None,
            "endCursor": _cursor(end) if chunk else None,
        },
    }


class LinearDouble(HttpDouble):
    name = "linear"

    def __init__(self, team_key: str = "ENG", api_key: str = "lin_api_test_key") -> None:
        self.api_key = api_key
        self.team = {"id": "team-eng", "key": team_key, "name": "Engineering"}
        self._ids = itertools.count(1)
        self.states = [
            {
                "id": f"state-{i}",
                "name": name,
                "type": kind,
                "position": float(i),
                "team": self.team,
            }
            for i, (name, kind) in enumerate(DEFAULT_STATES)
        ]
        self.labels: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []
        self.remaining = 2500
        self.schema = build_schema(SDL)
        self._wire()
        super().__init__()

    def routes(self):  # type: ignore[no-untyped-def]
        return [("POST", "/graphql", self.graphql)]

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") in (self.api_key, f"Bearer {self.api_key}")

    @staticmethod
    def _error(
        message: str, code: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(
            status,
            {
                "errors": [
                    {
                        "message": message,
                        "extensions": {
                            "code": code,
                            "type": code.lower().replace("_", " "),
                            "userPresentableMessage": message,
                        },
                    }
                ]
            },
            headers or {},
        )

    def unauthorized(self, request: Request) -> Response:
        return self._error("Authentication required, not authenticated", "AUTHENTICATION_ERROR")

    def _limit_headers(self, remaining: int) -> dict[str, str]:
        reset_ms = int(time.time() * 1000) + 3_600_000
        return {
            "X-RateLimit-Requests-Limit": "2500",
            "X-RateLimit-Requests-Remaining": str(remaining),
            "X-RateLimit-Requests-Reset": str(reset_ms),
            "X-Complexity": "1",
        }

    def common_headers(self, request: Request) -> dict[str, str]:
        self.remaining = max(self.remaining - 1, 0)
        return self._limit_headers(self.remaining)

    def rate_limited(self, request: Request, options: dict[str, Any]) -> Response:
        headers = self._limit_headers(0)
        headers["X-RateLimit-Requests-Reset"] = str(
            int(time.time() * 1000) + int(options.get("reset_ms", 500))
        )
        return self._error("Rate limit exceeded", "RATELIMITED", headers=headers)

    # -- model -----------------------------------------------------------------
    def state_named(self, name: str) -> dict[str, Any]:
        return next(s for s in self.states if s["name"] == name)

    def label(self, name: str) -> dict[str, Any]:
        for existing in self.labels:
            if existing["name"] == name:
                return existing
        created = {"id": f"label-{next(self._ids)}", "name": name}
        self.labels.append(created)
        return created

    def seed(
        self,
        title: str,
        *,
        description: str = "",
        state: str = "Todo",
        labels: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            return self._create(
                {
                    "teamId": self.team["id"],
                    "title": title,
                    "description": description,
                    "stateId": self.state_named(state)["id"],
                    "labelIds": [self.label(n)["id"] for n in labels or []],
                }
            )

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["teamId"] != self.team["id"]:
            raise GraphQLError("Entity not found: Team", extensions={"code": "INVALID_INPUT"})
        number = len(self.issues) + 1
        now = _now()
        issue = {
            "id": f"issue-{next(self._ids)}",
            "identifier": f"{self.team['key']}-{number}",
            "number": number,
            "title": data.get("title") or "",
            "description": data.get("description"),
            "priority": float(data.get("priority") or 0),
            "createdAt": now,
            "updatedAt": now,
            "url": f"https://linear.app/demo/issue/{self.team['key']}-{number}",
            "team": self.team,
            "assignee": None,
            "parent": None,
            "state": self._state(data.get("stateId") or self.state_named("Todo")["id"]),
            "_labels": [self._label_by_id(i) for i in data.get("labelIds") or []],
        }
        if not issue["title"].strip():
            raise GraphQLError(
                "Argument Validation Error: title should not be empty",
                extensions={"code": "INVALID_INPUT"},
            )
        self.issues.append(issue)
        return issue

    def _state(self, state_id: str) -> dict[str, Any]:
        for state in self.states:
            if state["id"] == state_id:
                return state
        raise GraphQLError("Entity not found: WorkflowState", extensions={"code": "INVALID_INPUT"})

    def _label_by_id(self, label_id: str) -> dict[str, Any]:
        for label in self.labels:
            if label["id"] == label_id:
                return label
        raise GraphQLError("Entity not found: IssueLabel", extensions={"code": "INVALID_INPUT"})

    def _issue(self, key: str) -> dict[str, Any]:
        for issue in self.issues:
            if key in (issue["id"], issue["identifier"]):
                return issue
        raise GraphQLError("Entity not found: Issue", extensions={"code": "INVALID_INPUT"})

    # -- resolvers ---------------------------------------------------------------
    def _matches(self, issue: dict[str, Any], flt: dict[str, Any] | None) -> bool:
        if not flt:
            return True
        checks = []
        if "id" in flt:
            checks.append(_compare(issue["id"], flt["id"]))
        if "team" in flt:
            team = flt["team"]
            checks.append(
                _compare(issue["team"]["id"], team.get("id", {}))
                and _compare(issue["team"]["key"], team.get("key", {}))
            )
        if "updatedAt" in flt:
            checks.append(_compare(issue["updatedAt"], flt["updatedAt"], dates=True))
        for name in ("title", "description"):
            if name in flt:
                checks.append(_compare(issue[name] or "", flt[name]))
        if "number" in flt:
            checks.append(_compare(issue["number"], flt["number"]))
        if "and" in flt:
            checks.append(all(self._matches(issue, f) for f in flt["and"]))
        if "or" in flt:
            checks.append(any(self._matches(issue, f) for f in flt["or"]))
        return all(checks)

    def _wire(self) -> None:
        query, mutation = self.schema.query_type, self.schema.mutation_type
        assert query is not None and mutation is not None

        def issues(
            _: Any,
            __: Any,
            first: int | None = None,
            after: str | None = None,
            filter: dict[str, Any] | None = None,
            orderBy: str = "createdAt",
        ) -> dict[str, Any]:  # noqa: A002, N803
            found = [i for i in self.issues if self._matches(i, filter)]
            found.sort(key=lambda i: (i[orderBy], i["number"]))
            return _connection(found, first, after)

        def states(
            _: Any,
            __: Any,
            first: int | None = None,
            after: str | None = None,
            filter: dict[str, Any] | None = None,
        ) -> dict[str, Any]:  # noqa: A002
            found = [
                s
                for s in self.states
                if not filter
                or (
                    _compare(s["team"]["id"], (filter.get("team") or {}).get("id", {}))
                    and _compare(s["type"], filter.get("type", {}))
                    and _compare(s["name"], filter.get("name", {}))
                )
            ]
            return _connection(found, first, after)

        def labels(
            _: Any,
            __: Any,
            first: int | None = None,
            after: str | None = None,
            filter: dict[str, Any] | None = None,
        ) -> dict[str, Any]:  # noqa: A002
            found = [
                lbl
                for lbl in self.labels
                if not filter or _compare(lbl["name"], filter.get("name", {}))
            ]
            return _connection(found, first, after)

        def issue_labels(issue: dict[str, Any], _: Any, first: int | None = None) -> dict[str, Any]:
            return _connection(issue["_labels"], first, None)

        def create(_: Any, __: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            return {
                "success": True,
                "issue": self._create(input),
                "lastSyncId": float(next(self._ids)),
            }

        def update(_: Any, __: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            issue = self._issue(id)
            if "title" in input:
                issue["title"] = input["title"]
            if "description" in input:
                issue["description"] = input["description"]
            if "priority" in input:
                if not 0 <= input["priority"] <= 4:
                    raise GraphQLError(
                        "Argument Validation Error: priority must be 0-4",
                        extensions={"code": "INVALID_INPUT"},
                    )
                issue["priority"] = float(input["priority"])
            if "stateId" in input:
                issue["state"] = self._state(input["stateId"])
            if "labelIds" in input:
                issue["_labels"] = [self._label_by_id(i) for i in input["labelIds"]]
            for label_id in input.get("addedLabelIds") or []:
                if label_id not in [lbl["id"] for lbl in issue["_labels"]]:
                    issue["_labels"].append(self._label_by_id(label_id))
            removed = set(input.get("removedLabelIds") or [])
            issue["_labels"] = [lbl for lbl in issue["_labels"] if lbl["id"] not in removed]
            issue["updatedAt"] = _now()
            return {"success": True, "issue": issue, "lastSyncId": float(next(self._ids))}

        def create_label(_: Any, __: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            if any(lbl["name"] == input["name"] for lbl in self.labels):
                raise GraphQLError("duplicate label name", extensions={"code": "INVALID_INPUT"})
            return {"success": True, "issueLabel": self.label(input["name"]), "lastSyncId": 1.0}

        query.fields["issues"].resolve = issues
        query.fields["issue"].resolve = lambda _, __, id: self._issue(id)  # noqa: A006
        query.fields["workflowStates"].resolve = states
        query.fields["issueLabels"].resolve = labels
        self.schema.get_type("Issue").fields["labels"].resolve = issue_labels  # type: ignore[union-attr]
        mutation.fields["issueCreate"].resolve = create
        mutation.fields["issueUpdate"].resolve = update
        mutation.fields["issueLabelCreate"].resolve = create_label

    def graphql(self, request: Request) -> Response:
        payload = request.json() or {}
        if not isinstance(payload.get("query"), str):
            return self._error("Must provide query string.", "GRAPHQL_PARSE_FAILED")
        result = graphql_sync(
            self.schema,
            payload["query"],
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [
                {
                    "message": e.message,
                    "path": e.path,
                    "extensions": {
                        "code": (e.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
                    },
                }
                for e in result.errors
            ]
            if result.data is None:
                return Response(400, body)
        return Response(200, body)


def _compare(value: Any, comparator: dict[str, Any], dates: bool = False) -> bool:
    def norm(v: Any) -> Any:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00")) if dates else v

    for op, operand in comparator.items():
        if operand is None:
            continue
        if op == "eq" and norm(value) != norm(operand):
            return False
        if op == "neq" and norm(value) == norm(operand):
            return False
        if op == "in" and value not in operand:
            return False
        if op == "containsIgnoreCase" and str(operand).lower() not in str(value).lower():
            return False
        if op == "gt" and not norm(value) > norm(operand):
            return False
        if op == "gte" and not norm(value) >= norm(operand):
            return False
        if op == "lt" and not norm(value) < norm(operand):
            return False
        if op == "lte" and not norm(value) <= norm(operand):
            return False
    return True
