"""GitLab REST API (v4) double: project issues.

Follows GitLab's public documentation:
* Issues API: https://docs.gitlab.com/api/issues/ (list project issues with ``state``,
  ``labels``, ``search``, ``updated_after``, ``order_by``/``sort``; create; get by
  ``iid``; edit with ``title``, ``description``, ``labels``, ``add_labels``,
  ``remove_labels`` and ``state_event=close|reopen``). Issues are addressed by their
  project-scoped ``iid``; ``id`` is global. States are ``opened`` and ``closed``.
* Pagination: https://docs.gitlab.com/api/rest/#pagination (``page``/``per_page``,
  default 20, max 100; ``x-next-page`` (empty on the last page), ``x-page``,
  ``x-per-page``, ``x-prev-page``, ``x-total``, ``x-total-pages`` and a ``Link`` header);
* Authentication: https://docs.gitlab.com/api/rest/authentication/ (``PRIVATE-TOKEN``
  header or ``Authorization: Bearer``; 401 ``{"message": "401 Unauthorized"}``);
* Rate limits: https://docs.gitlab.com/security/rate_limits/ (429 ``Retry later`` with
  ``Retry-After`` and ``RateLimit-Limit``/``-Remaining``/``-Reset``/``-ResetTime``).
Projects are addressed by numeric id or URL-encoded path (``group%2Fdemo``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlencode

from doubles.http_double import HttpDouble, Request, Response


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class GitLabDouble(HttpDouble):
    name = "gitlab"

    def __init__(
        self,
        project_path: str = "group/demo",
        project_id: int = 42,
        token: str = "glpat-test-token",
    ) -> None:
        self.project_path = project_path
        self.project_id = project_id
        self.token = token
        self.issues: dict[int, dict[str, Any]] = {}
        self._next_iid = 1
        super().__init__()

    def routes(self):  # type: ignore[no-untyped-def]
        project = r"/api/v4/projects/(?P<project>[^/]+)"
        return [
            ("GET", f"{project}/issues", self.list_issues),
            ("POST", f"{project}/issues", self.create_issue),
            ("GET", rf"{project}/issues/(?P<iid>\d+)", self.get_issue),
            ("PUT", rf"{project}/issues/(?P<iid>\d+)", self.update_issue),
        ]

    def authorized(self, request: Request) -> bool:
        return (
            request.headers.get("private-token") == self.token
            or request.headers.get("authorization") == f"Bearer {self.token}"
        )

    def unauthorized(self, request: Request) -> Response:
        return Response(401, {"message": "401 Unauthorized"})

    def rate_limited(self, request: Request, options: dict[str, Any]) -> Response:
        wait = int(options.get("retry_after", 1))
        reset = int(time.time()) + wait
        return Response(
            429,
            "Retry later\n",
            {
                "Content-Type": "text/plain",
                "Retry-After": str(wait),
                "RateLimit-Limit": "600",
                "RateLimit-Name": "throttle_authenticated_api",
                "RateLimit-Observed": "601",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset),
                "RateLimit-ResetTime": formatdate(reset, usegmt=True),
            },
        )

    def _project_ok(self, project: str) -> bool:
        return unquote(project) in (self.project_path, str(self.project_id))

    def seed(
        self,
        title: str,
        *,
        description: str = "",
        labels: list[str] | None = None,
        state: str = "opened",
    ) -> dict[str, Any]:
        with self.lock:
            issue = self._new(title, description, labels or [])
            if state == "closed":
                issue["state"] = "closed"
                issue["closed_at"] = issue["updated_at"]
            return issue

    def _new(self, title: str, description: str | None, labels: list[str]) -> dict[str, Any]:
        iid = self._next_iid
        self._next_iid += 1
        now = _now()
        issue = {
            "id": 500_000 + iid,
            "iid": iid,
            "project_id": self.project_id,
            "title": title,
            "description": description,
            "state": "opened",
            "labels": sorted(set(labels)),
            "assignees": [],
            "author": {"username": "root"},
            "web_url": f"https://gitlab.example.com/{self.project_path}/-/issues/{iid}",
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
        }
        self.issues[iid] = issue
        return issue

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        """GitLab takes attributes as query, form or JSON body; JSON is what clients send."""
        params: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
        if request.body:
            ctype = request.headers.get("content-type", "")
            if "json" in ctype:
                params.update(request.json() or {})
            else:
                from urllib.parse import parse_qs

                params.update({k: v[-1] for k, v in parse_qs(request.body.decode()).items()})
        return params

    @staticmethod
    def _label_list(value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]

    def list_issues(self, request: Request, project: str) -> Response:
        if not self._project_ok(project):
            return Response(404, {"message": "404 Project Not Found"})
        items = list(self.issues.values())
        state = request.arg("state", "all")
        if state in ("opened", "closed"):
            items = [i for i in items if i["state"] == state]
        if labels := request.arg("labels"):
            wanted = set(self._label_list(labels))
            items = [i for i in items if wanted <= set(i["labels"])]
        if after := request.arg("updated_after"):
            cutoff = datetime.fromisoformat(after.replace("Z", "+00:00"))
            items = [
                i
                for i in items
                if datetime.fromisoformat(i["updated_at"].replace("Z", "+00:00")) >= cutoff
            ]
        if search := request.arg("search"):
            items = [
                i
                for i in items
                if search.lower() in f"{i['title']} {i['description'] or ''}".lower()
            ]
        key = "updated_at" if request.arg("order_by") == "updated_at" else "created_at"
        items.sort(key=lambda i: (i[key], i["iid"]), reverse=request.arg("sort", "desc") == "desc")
        per_page = min(int(request.arg("per_page", "20") or 20), 100)
        page = max(int(request.arg("page", "1") or 1), 1)
        total_pages = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        params = {k: v[-1] for k, v in request.query.items() if k != "page"}

        def link(n: int, rel: str) -> str:
            return f'<{self.url}{request.path}?{urlencode({**params, "page": n})}>; rel="{rel}"'

        links = [link(1, "first"), link(total_pages, "last")]
        if page > 1:
            links.insert(0, link(page - 1, "prev"))
        if page < total_pages:
            links.insert(0, link(page + 1, "next"))
        return Response(
            200,
            chunk,
            {
                "x-page": str(page),
                "x-per-page": str(per_page),
                "x-next-page": str(page + 1) if page < total_pages else "",
                "x-prev-page": str(page - 1) if page > 1 else "",
                "x-total": str(len(items)),
                "x-total-pages": str(total_pages),
                "Link": ", ".join(links),
            },
        )

    def create_issue(self, request: Request, project: str) -> Response:
        if not self._project_ok(project):
            return Response(404, {"message": "404 Project Not Found"})
        params = self._params(request)
        if not str(params.get("title") or "").strip():
            return Response(400, {"error": "title is missing"})
        issue = self._new(
            str(params["title"]), params.get("description"), self._label_list(params.get("labels"))
        )
        return Response(201, issue)

    def _issue(self, project: str, iid: str) -> dict[str, Any] | Response:
        if not self._project_ok(project):
            return Response(404, {"message": "404 Project Not Found"})
        issue = self.issues.get(int(iid))
        return issue if issue is not None else Response(404, {"message": "404 Not found"})

    def get_issue(self, request: Request, project: str, iid: str) -> Response:
        issue = self._issue(project, iid)
        return issue if isinstance(issue, Response) else Response(200, issue)

    def update_issue(self, request: Request, project: str, iid: str) -> Response:
        issue = self._issue(project, iid)
        if isinstance(issue, Response):
            return issue
        params = self._params(request)
        event = params.get("state_event")
        if event is not None and event not in ("close", "reopen"):
            return Response(400, {"error": "state_event does not have a valid value"})
        for key in ("title", "description"):
            if key in params:
                issue[key] = params[key]
        labels = set(issue["labels"])
        if "labels" in params:
            labels = set(self._label_list(params["labels"]))
        labels |= set(self._label_list(params.get("add_labels")))
        labels -= set(self._label_list(params.get("remove_labels")))
        issue["labels"] = sorted(labels)
        if event == "close" and issue["state"] != "closed":
            issue["state"] = "closed"
            issue["closed_at"] = _now()
        elif event == "reopen" and issue["state"] != "opened":
            issue["state"] = "opened"
            issue["closed_at"] = None
        issue["updated_at"] = _now()
        return Response(200, issue)
