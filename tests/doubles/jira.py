"""Jira Cloud platform REST API v3 double: JQL search, issues, transitions.

Follows Atlassian's public documentation:
* Search: https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
  (``GET``/``POST /rest/api/3/search/jql`` with ``jql``, ``fields``, ``maxResults`` and
  ``nextPageToken``; answers ``{issues, nextPageToken?, isLast}``; without ``fields``
  only issue ids are returned). The legacy ``/rest/api/3/search`` has been removed
  from Jira Cloud, so it answers 410 here.
* Issues: https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/
  (create ``POST /rest/api/3/issue`` → 201 ``{id, key, self}``; get; edit ``PUT`` → 204
  with ``fields`` and ``update.labels[{add|remove}]``; get transitions and do a
  transition ``POST …/transitions {"transition": {"id"}}`` → 204).
* Descriptions are Atlassian Document Format:
  https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
* Authentication: basic auth with an account e-mail and API token
  (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/).
* Rate limiting: https://developer.atlassian.com/cloud/jira/platform/rate-limiting/
  (429 with ``Retry-After`` seconds, ``X-RateLimit-Reset`` as an ISO timestamp and
  ``RateLimit-Reason``).
Only a documented subset of JQL is understood (``project``, ``key``, ``updated >=``,
``text ~``/``summary ~``, ``labels =``, ``AND``, ``ORDER BY``); anything else is a 400
as real Jira answers for a query it cannot parse.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from doubles.http_double import HttpDouble, Request, Response

STATUSES = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("In Review", "indeterminate"),
    "10002": ("Blocked", "indeterminate"),
    "10003": ("Done", "done"),
    "10004": ("Won't Do", "done"),
}
TRANSITION_IDS = {
    "10000": "11",
    "3": "21",
    "10001": "31",
    "10002": "41",
    "10003": "51",
    "10004": "61",
}
CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}


def _jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def text_to_adf(text: str) -> dict[str, Any]:
    paragraphs = [p for p in text.split("\n\n") if p] or []
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs
        ],
    }


def adf_to_text(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    parts = [adf_to_text(child) for child in node.get("content", [])]
    return ("\n\n" if node.get("type") == "doc" else "").join(parts)


class JiraDouble(HttpDouble):
    name = "jira"

    def __init__(
        self,
        project_key: str = "KAN",
        email: str = "bot@example.com",
        api_token: str = "jira-api-token",
        transitions: dict[str, list[str]] | None = None,
    ) -> None:
        self.project_key = project_key
        self.email = email
        self.api_token = api_token
        self.issues: dict[str, dict[str, Any]] = {}
        self._next = 1
        self.clock_offset = timedelta(0)
        # status id -> status ids reachable in one transition (default: any to any).
        self.workflow = transitions or {sid: [t for t in STATUSES if t != sid] for sid in STATUSES}
        super().__init__()

    def routes(self):  # type: ignore[no-untyped-def]
        issue = r"/rest/api/3/issue/(?P<key>[^/]+)"
        return [
            ("GET", "/rest/api/3/search/jql", self.search),
            ("POST", "/rest/api/3/search/jql", self.search),
            ("GET", "/rest/api/3/search", self.removed_search),
            ("POST", "/rest/api/3/search", self.removed_search),
            ("POST", "/rest/api/3/issue", self.create_issue),
            ("GET", issue, self.get_issue),
            ("PUT", issue, self.edit_issue),
            ("GET", f"{issue}/transitions", self.get_transitions),
            ("POST", f"{issue}/transitions", self.do_transition),
        ]

    def authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def unauthorized(self, request: Request) -> Response:
        return Response(
            401,
            {
                "errorMessages": ["Client must be authenticated to access this resource."],
                "errors": {},
            },
        )

    def rate_limited(self, request: Request, options: dict[str, Any]) -> Response:
        wait = int(options.get("retry_after", 1))
        reset = datetime.now(UTC) + timedelta(seconds=wait)
        return Response(
            429,
            {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            {
                "Retry-After": str(wait),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "RateLimit-Reason": "jira-burst-based",
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
            },
        )

    # -- model -----------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def seed(
        self,
        summary: str,
        *,
        description: str = "",
        labels: list[str] | None = None,
        status_id: str = "10000",
        issuetype: str = "Task",
    ) -> dict[str, Any]:
        with self.lock:
            issue = self._new(
                {
                    "summary": summary,
                    "description": text_to_adf(description) if description else None,
                    "labels": labels or [],
                    "issuetype": {"name": issuetype},
                }
            )
            self._set_status(issue, status_id)
            return issue

    def _status(self, status_id: str) -> dict[str, Any]:
        name, category = STATUSES[status_id]
        return {
            "id": status_id,
            "name": name,
            "self": f"{self.url}/rest/api/3/status/{status_id}",
            "statusCategory": {
                "id": CATEGORY_IDS[category],
                "key": category,
                "name": CATEGORY_NAMES[category],
            },
        }

    def _set_status(self, issue: dict[str, Any], status_id: str) -> None:
        issue["fields"]["status"] = self._status(status_id)
        issue["fields"]["updated"] = _jira_time(self.now())

    def _new(self, fields: dict[str, Any]) -> dict[str, Any]:
        number = self._next
        self._next += 1
        key = f"{self.project_key}-{number}"
        stamp = _jira_time(self.now())
        issue = {
            "id": str(10_000 + number),
            "key": key,
            "self": f"{self.url}/rest/api/3/issue/{10_000 + number}",
            "fields": {
                "summary": fields["summary"],
                "description": fields.get("description"),
                "labels": list(fields.get("labels") or []),
                "issuetype": {"name": (fields.get("issuetype") or {}).get("name", "Task")},
                "priority": fields.get("priority") or {"id": "3", "name": "Medium"},
                "project": {"key": self.project_key},
                "assignee": None,
                "created": stamp,
                "updated": stamp,
                "status": self._status("10000"),
            },
        }
        self.issues[key] = issue
        return issue

    def _find(self, key_or_id: str) -> dict[str, Any] | None:
        if key_or_id in self.issues:
            return self.issues[key_or_id]
        return next((i for i in self.issues.values() if i["id"] == key_or_id), None)

    @staticmethod
    def _not_found() -> Response:
        return Response(
            404,
            {
                "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                "errors": {},
            },
        )

    def _view(self, issue: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        view = {"id": issue["id"], "key": issue["key"], "self": issue["self"]}
        if fields:
            wanted = (
                issue["fields"]
                if "*all" in fields or "*navigable" in fields
                else {name: issue["fields"].get(name) for name in fields if name in issue["fields"]}
            )
            view["fields"] = dict(wanted)
        return view

    # -- search ----------------------------------------------------------------
    def removed_search(self, request: Request) -> Response:
        return Response(
            410,
            {
                "errorMessages": [
                    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
                ],
                "errors": {},
            },
        )

    def _compile(self, jql: str) -> tuple[list[Any], tuple[str, bool]] | str:
        order = ("created", False)
        text = jql.strip()
        if m := re.search(r"\s*ORDER BY\s+(\w+)(?:\s+(ASC|DESC))?\s*$", text, re.IGNORECASE):
            order = (m.group(1).lower(), (m.group(2) or "ASC").upper() == "DESC")
            text = text[: m.start()]
        checks: list[Any] = []
        for clause in [
            c.strip() for c in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE) if c.strip()
        ]:
            if m := re.fullmatch(r'project\s*=\s*"?([A-Za-z0-9_]+)"?', clause, re.IGNORECASE):
                checks.append(lambda i, k=m.group(1): i["fields"]["project"]["key"] == k)
            elif m := re.fullmatch(
                r'(?:key|issuekey)\s*=\s*"?([A-Za-z0-9_-]+)"?', clause, re.IGNORECASE
            ):
                checks.append(lambda i, k=m.group(1).upper(): i["key"] == k)
            elif m := re.fullmatch(
                r'updated\s*>=?\s*"([0-9/-]+(?: [0-9:]+)?)"', clause, re.IGNORECASE
            ):
                value = m.group(1).replace("/", "-")
                fmt = "%Y-%m-%d %H:%M" if " " in value else "%Y-%m-%d"
                cutoff = datetime.strptime(value, fmt).replace(tzinfo=UTC)
                checks.append(
                    lambda i, c=cutoff: (
                        datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") >= c
                    )
                )
            elif m := re.fullmatch(r'(text|summary)\s*~\s*"([^"]*)"', clause, re.IGNORECASE):
                field, needle = m.group(1).lower(), m.group(2).lower()
                checks.append(
                    lambda i, f=field, n=needle: (
                        n
                        in (
                            i["fields"]["summary"]
                            if f == "summary"
                            else i["fields"]["summary"]
                            + " "
                            + adf_to_text(i["fields"]["description"])
                        ).lower()
                    )
                )
            elif m := re.fullmatch(r'labels\s*=\s*"?([^"\s]+)"?', clause, re.IGNORECASE):
                checks.append(lambda i, lbl=m.group(1): lbl in i["fields"]["labels"])
            else:
                return f"Error in the JQL Query: unsupported clause '{clause}'."
        if not checks:
            return "Unbounded JQL queries are not allowed here. Please add a search restriction."
        return checks, order

    def search(self, request: Request) -> Response:
        if request.method == "POST":
            data = request.json() or {}
            jql, token = data.get("jql", ""), data.get("nextPageToken")
            max_results, fields = int(data.get("maxResults", 50)), data.get("fields")
        else:
            jql, token = request.arg("jql", "") or "", request.arg("nextPageToken")
            max_results = int(request.arg("maxResults", "50") or 50)
            raw_fields = request.arg("fields")
            fields = raw_fields.split(",") if raw_fields else None
        compiled = self._compile(jql)
        if isinstance(compiled, str):
            return Response(400, {"errorMessages": [compiled], "errors": {}})
        checks, (order_field, desc) = compiled
        items = [i for i in self.issues.values() if all(check(i) for check in checks)]
        sort_key = {
            "updated": lambda i: i["fields"]["updated"],
            "key": lambda i: int(i["key"].split("-")[1]),
        }.get(order_field, lambda i: i["fields"]["created"])
        items.sort(key=lambda i: (sort_key(i), int(i["id"])), reverse=desc)
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        max_results = max(1, min(max_results, 100))
        chunk = items[start : start + max_results]
        body: dict[str, Any] = {
            "issues": [self._view(i, fields) for i in chunk],
            "isLast": start + max_results >= len(items),
        }
        if not body["isLast"]:
            body["nextPageToken"] = base64.urlsafe_b64encode(
                str(start + max_results).encode()
            ).decode()
        return Response(200, body)

    # -- issues ----------------------------------------------------------------
    def _adf_error(self, value: Any) -> Response | None:
        if value is None:
            return None
        if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
            return Response(
                400,
                {
                    "errorMessages": [],
                    "errors": {"description": "Operation value must be an Atlassian Document"},
                },
            )
        return None

    def create_issue(self, request: Request) -> Response:
        fields = (request.json() or {}).get("fields") or {}
        errors = {}
        if (fields.get("project") or {}).get("key") != self.project_key:
            errors["project"] = "valid project is required"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        if not (fields.get("issuetype") or {}).get("name"):
            errors["issuetype"] = "Specify an issue type"
        if errors:
            return Response(400, {"errorMessages": [], "errors": errors})
        if (bad := self._adf_error(fields.get("description"))) is not None:
            return bad
        issue = self._new(fields)
        return Response(201, {"id": issue["id"], "key": issue["key"], "self": issue["self"]})

    def get_issue(self, request: Request, key: str) -> Response:
        issue = self._find(key)
        if issue is None:
            return self._not_found()
        raw = request.arg("fields")
        return Response(200, self._view(issue, raw.split(",") if raw else ["*all"]))

    def edit_issue(self, request: Request, key: str) -> Response:
        issue = self._find(key)
        if issue is None:
            return self._not_found()
        data = request.json() or {}
        fields = data.get("fields") or {}
        if (bad := self._adf_error(fields.get("description"))) is not None:
            return bad
        for name in ("summary", "description", "labels"):
            if name in fields:
                issue["fields"][name] = fields[name]
        for op in (data.get("update") or {}).get("labels", []):
            if "add" in op and op["add"] not in issue["fields"]["labels"]:
                issue["fields"]["labels"].append(op["add"])
            if "remove" in op:
                issue["fields"]["labels"] = [
                    x for x in issue["fields"]["labels"] if x != op["remove"]
                ]
        issue["fields"]["updated"] = _jira_time(self.now())
        return Response(204)

    def _transitions(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        current = issue["fields"]["status"]["id"]
        return [
            {
                "id": TRANSITION_IDS[target],
                "name": STATUSES[target][0],
                "to": self._status(target),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for target in self.workflow.get(current, [])
        ]

    def get_transitions(self, request: Request, key: str) -> Response:
        issue = self._find(key)
        if issue is None:
            return self._not_found()
        return Response(200, {"expand": "transitions", "transitions": self._transitions(issue)})

    def do_transition(self, request: Request, key: str) -> Response:
        issue = self._find(key)
        if issue is None:
            return self._not_found()
        wanted = str(((request.json() or {}).get("transition") or {}).get("id", ""))
        for transition in self._transitions(issue):
            if transition["id"] == wanted:
                self._set_status(issue, transition["to"]["id"])
                return Response(204)
        return Response(
            400,
            {
                "errorMessages": [f"Transition id '{wanted}' is not valid for this issue."],
                "errors": {},
            },
        )
