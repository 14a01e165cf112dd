"""GitHub REST API double: repository issues, labels and issue search.

Follows GitHub's public REST documentation (API version 2022-11-28):
* Issues: https://docs.github.com/en/rest/issues/issues (list repository issues,
  create, get, update with ``state``/``state_reason``; pull requests also appear in
  the issues list and carry a ``pull_request`` key);
* Labels on an issue: https://docs.github.com/en/rest/issues/labels (add, remove);
* Search: https://docs.github.com/en/rest/search/search#search-issues-and-pull-requests;
* Pagination: https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
  (``per_page`` default 30, max 100; absolute URLs in the ``Link`` header);
* Rate limits: https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
  (``x-ratelimit-*`` headers on every answer; primary limit: 403/429 with
  ``x-ratelimit-remaining: 0``; secondary limit: 403/429, an explanatory message and
  possibly ``retry-after``);
* Authentication: ``Authorization: Bearer <token>`` (or the older ``token <token>``);
  a bad token answers 401 ``Bad credentials``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from doubles.http_double import HttpDouble, Request, Response

DOCS = "https://docs.github.com/rest"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubDouble(HttpDouble):
    name = "github"

    def __init__(self, repo: str = "octo/demo", token: str = "ghp_test_token") -> None:
        self.repo = repo
        self.token = token
        self.issues: dict[int, dict[str, Any]] = {}
        self._next_number = 1
        self._label_ids: dict[str, int] = {}
        self.remaining = 5000
        super().__init__()

    def routes(self):  # type: ignore[no-untyped-def]
        repo = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        return [
            ("GET", f"{repo}/issues", self.list_issues),
            ("POST", f"{repo}/issues", self.create_issue),
            ("GET", rf"{repo}/issues/(?P<number>\d+)", self.get_issue),
            ("PATCH", rf"{repo}/issues/(?P<number>\d+)", self.update_issue),
            ("POST", rf"{repo}/issues/(?P<number>\d+)/labels", self.add_labels),
            (
                "DELETE",
                rf"{repo}/issues/(?P<number>\d+)/labels/(?P<label>[^/]+)",
                self.remove_label,
            ),
            ("GET", "/search/issues", self.search),
        ]

    # -- auth, limits ----------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header in (f"Bearer {self.token}", f"token {self.token}")

    def unauthorized(self, request: Request) -> Response:
        return Response(
            401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
        )

    def common_headers(self, request: Request) -> dict[str, str]:
        self.remaining = max(self.remaining - 1, 0)
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(5000 - self.remaining),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "search" if request.path.startswith("/search") else "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def rate_limited(self, request: Request, options: dict[str, Any]) -> Response:
        status = int(options.get("status", 403))
        if options.get("kind", "secondary") == "primary":
            reset = int(time.time()) + int(options.get("reset_in", 1))
            return Response(
                status,
                {"message": "API rate limit exceeded for user.", "documentation_url": DOCS},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
            )
        headers = {}
        if options.get("retry_after") is not None:
            headers["retry-after"] = str(options["retry_after"])
        return Response(
            status,
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": DOCS,
            },
            headers,
        )

    # -- model -----------------------------------------------------------------
    def _check_repo(self, owner: str, name: str) -> Response | None:
        if f"{owner}/{name}" != self.repo:
            return Response(404, {"message": "Not Found", "documentation_url": DOCS})
        return None

    def _label(self, name: str) -> dict[str, Any]:
        label_id = self._label_ids.setdefault(name, 1000 + len(self._label_ids))
        return {
            "id": label_id,
            "name": name,
            "color": "ededed",
            "default": False,
            "description": None,
        }

    def seed(
        self,
        title: str,
        *,
        body: str = "",
        labels: list[str] | None = None,
        state: str = "open",
        pull_request: bool = False,
        updated_at: str | None = None,
    ) -> dict[str, Any]:
        """Put an issue (or a pull request, which the issues list also returns) in place."""
        with self.lock:
            issue = self._new(title, body, labels or [])
            issue["state"] = state
            if state == "closed":
                issue["state_reason"] = "completed"
                issue["closed_at"] = issue["updated_at"]
            if pull_request:
                issue["pull_request"] = {
                    "url": f"{self.url}/repos/{self.repo}/pulls/{issue['number']}"
                }
            if updated_at:
                issue["updated_at"] = updated_at
            return issue

    def _new(self, title: str, body: str | None, labels: list[str]) -> dict[str, Any]:
        number = self._next_number
        self._next_number += 1
        now = _now()
        issue = {
            "id": 9_000_000 + number,
            "node_id": f"I_kw{number:06d}",
            "number": number,
            "url": f"{self.url}/repos/{self.repo}/issues/{number}",
            "html_url": f"https://github.com/{self.repo}/issues/{number}",
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "labels": [self._label(n) for n in labels],
            "assignees": [],
            "user": {"login": "octocat"},
            "locked": False,
            "comments": 0,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
        }
        self.issues[number] = issue
        return issue

    def _touch(self, issue: dict[str, Any]) -> None:
        issue["updated_at"] = _now()

    # -- handlers --------------------------------------------------------------
    def list_issues(self, request: Request, owner: str, name: str) -> Response:
        if (missing := self._check_repo(owner, name)) is not None:
            return missing
        state = request.arg("state", "open")
        items = list(self.issues.values())
        if state != "all":
            items = [i for i in items if i["state"] == state]
        if labels := request.arg("labels"):
            wanted = set(labels.split(","))
            items = [i for i in items if wanted <= {lbl["name"] for lbl in i["labels"]}]
        if since := request.arg("since"):
            items = [i for i in items if i["updated_at"] >= since.replace("+00:00", "Z")]
        sort_key = "updated_at" if request.arg("sort") == "updated" else "created_at"
        items.sort(
            key=lambda i: (i[sort_key], i["number"]),
            reverse=request.arg("direction", "desc") == "desc",
        )
        return self._page(request, items, f"/repos/{self.repo}/issues")

    def _page(self, request: Request, items: list[Any], path: str, wrap: Any = None) -> Response:
        per_page = min(int(request.arg("per_page", "30") or 30), 100)
        page = max(int(request.arg("page", "1") or 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        params = {k: v[-1] for k, v in request.query.items() if k != "page"}
        links = []

        def link(n: int, rel: str) -> str:
            return f'<{self.url}{path}?{urlencode({**params, "page": n})}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        body = wrap(chunk, len(items)) if wrap else chunk
        return Response(200, body, headers)

    def create_issue(self, request: Request, owner: str, name: str) -> Response:
        if (missing := self._check_repo(owner, name)) is not None:
            return missing
        data = request.json() or {}
        if not isinstance(data.get("title"), str | int) or not str(data.get("title")).strip():
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                    "documentation_url": DOCS,
                },
            )
        issue = self._new(str(data["title"]), data.get("body"), list(data.get("labels") or []))
        issue["assignees"] = [{"login": a} for a in data.get("assignees") or []]
        return Response(201, issue, {"Location": issue["url"]})

    def _issue(self, owner: str, name: str, number: str) -> dict[str, Any] | Response:
        if (missing := self._check_repo(owner, name)) is not None:
            return missing
        issue = self.issues.get(int(number))
        return (
            issue
            if issue is not None
            else Response(404, {"message": "Not Found", "documentation_url": DOCS})
        )

    def get_issue(self, request: Request, owner: str, name: str, number: str) -> Response:
        issue = self._issue(owner, name, number)
        return issue if isinstance(issue, Response) else Response(200, issue)

    def update_issue(self, request: Request, owner: str, name: str, number: str) -> Response:
        issue = self._issue(owner, name, number)
        if isinstance(issue, Response):
            return issue
        data = request.json() or {}
        state = data.get("state")
        if state is not None and state not in ("open", "closed"):
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "invalid", "field": "state"}],
                    "documentation_url": DOCS,
                },
            )
        reason = data.get("state_reason")
        if reason is not None and reason not in (
            "completed",
            "not_planned",
            "reopened",
            "duplicate",
        ):
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "invalid", "field": "state_reason"}],
                    "documentation_url": DOCS,
                },
            )
        for key in ("title", "body"):
            if key in data:
                issue[key] = data[key]
        if "labels" in data:
            issue["labels"] = [
                self._label(n if isinstance(n, str) else n["name"]) for n in data["labels"]
            ]
        if "assignees" in data:
            issue["assignees"] = [{"login": a} for a in data["assignees"]]
        if state is not None and state != issue["state"]:
            # state_reason is ignored unless the state changes (per the docs).
            issue["state"] = state
            if state == "closed":
                issue["state_reason"] = reason or "completed"
                issue["closed_at"] = _now()
            else:
                issue["state_reason"] = "reopened"
                issue["closed_at"] = None
        self._touch(issue)
        return Response(200, issue)

    def add_labels(self, request: Request, owner: str, name: str, number: str) -> Response:
        issue = self._issue(owner, name, number)
        if isinstance(issue, Response):
            return issue
        data = request.json()
        names = data.get("labels", []) if isinstance(data, dict) else data
        have = {lbl["name"] for lbl in issue["labels"]}
        issue["labels"] += [self._label(n) for n in names if n not in have]
        self._touch(issue)
        return Response(200, issue["labels"])

    def remove_label(
        self, request: Request, owner: str, name: str, number: str, label: str
    ) -> Response:
        from urllib.parse import unquote

        issue = self._issue(owner, name, number)
        if isinstance(issue, Response):
            return issue
        label = unquote(label)
        if label not in {lbl["name"] for lbl in issue["labels"]}:
            return Response(404, {"message": "Label does not exist", "documentation_url": DOCS})
        issue["labels"] = [lbl for lbl in issue["labels"] if lbl["name"] != label]
        self._touch(issue)
        return Response(200, issue["labels"])

    def search(self, request: Request) -> Response:
        terms = (request.arg("q") or "").split()
        items = list(self.issues.values())
        words = []
        for term in terms:
            if term.startswith("repo:"):
                if term[5:] != self.repo:
                    items = []
            elif term == "is:issue":
                items = [i for i in items if "pull_request" not in i]
            elif term.startswith(("is:", "state:")):
                state = term.split(":", 1)[1]
                if state in ("open", "closed"):
                    items = [i for i in items if i["state"] == state]
            elif term.startswith("label:"):
                items = [i for i in items if term[6:] in {lbl["name"] for lbl in i["labels"]}]
            elif term.startswith("in:"):
                continue
            else:
                words.append(term.strip('"').lower())
        for word in words:
            items = [i for i in items if word in f"{i['title']} {i['body'] or ''}".lower()]
        items.sort(key=lambda i: i["number"])
        return self._page(
            request,
            items,
            "/search/issues",
            wrap=lambda chunk, total: {
                "total_count": total,
                "incomplete_results": False,
                "items": chunk,
            },
        )
