"""Arrange a team hub with a GitHub connection (to the double) and a bound project."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from hub_fixtures import HubServer

from doubles.github import GitHubDouble


@dataclass
class TrackerTeam:
    hub: HubServer
    team: str
    email: str
    tokens: dict[str, Any]
    connection: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {**self.hub.bearer(self.tokens["access_token"]), "X-Team-Slug": self.team}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.hub.http.get(f"/api/v1/tracker/{path}", params=params, headers=self.headers)

    def post(self, path: str, body: dict[str, Any], *, key: str | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        extra = {"Idempotency-Key": key} if key else {}
        return self.hub.http.post(f"/api/v1/tracker/{path}", json=body,
                                  headers={**self.headers, **extra, **(headers or {})})

    def bind(self, project_uuid: str | None = None) -> str:
        """Resolve and confirm a binding for a new project; returns its binding_ref."""
        identity = {"uuid": project_uuid or str(uuid.uuid4()), "slug": "demo-project"}
        resolved = self.post("bind-resolve/", {"provider": "github",
                                               "project_identity": identity})
        assert resolved.status_code == 200, resolved.text
        token = resolved.json()["candidate_token"] or \
            resolved.json()["candidates"][0]["candidate_token"]
        confirmed = self.post("bind-confirm/", {"provider": "github", "candidate_token": token,
                                                "project_identity": identity},
                              key=str(uuid.uuid4()))
        assert confirmed.status_code == 200, confirmed.text
        return str(confirmed.json()["binding_ref"])

    def wait_operation(self, operation_id: str) -> dict[str, Any]:
        """Poll until the job ends (no time assertion: the hub decides how long)."""
        while True:
            body: dict[str, Any] = self.get(f"operations/{operation_id}/").json()
            if body["status"] in ("completed", "failed"):
                return body
            time.sleep(0.1)


def connect_github(hub: HubServer, team: str, double: GitHubDouble) -> dict[str, Any]:
    """``spec-kitty-hub tracker connect`` with the token on stdin (never argv)."""
    proc = hub.admin("tracker", "connect", team, "github", "--set", f"repo={double.repo}",
                     "--set", f"base_url={double.url}", "--json", input=double.token + "\n")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def tracker_team(hub: HubServer, double: GitHubDouble) -> TrackerTeam:
    user = hub.create_user()
    team = hub.create_team(owner=user.email)
    connection = connect_github(hub, team, double)
    return TrackerTeam(hub, team, user.email, hub.login(user), connection)


def wp_item(mission: str, wp: str, *, title: str = "", status: str | None = None,
            add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> dict[str, Any]:
    item: dict[str, Any] = {"action": "create", "work_package": {"mission_slug": mission,
                                                                  "wp_id": wp},
                            "patch": {"title": title or f"{wp} of {mission}",
                                      "body": "summary", "add_labels": list(add),
                                      "remove_labels": list(remove)}}
    if status:
        item["target_status"] = status
    return item
