"""Real users, real repositories, the real CLI and a real hub, for the sync e2e tests."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth_cli import headless_login
from hub_fixtures import HubServer, HubUser

from helpers import git, make_git_repo, parse_one_json, run_cli
from planning_helpers import plan_mission, sk


@dataclass
class Member:
    """One person: a hub account, a runtime root (~/.spec-kitty) and a repository."""

    hub: HubServer
    user: HubUser
    home: Path
    repo: Path

    @property
    def env(self) -> dict[str, str]:
        return {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": self.hub.url,
                "SPEC_KITTY_HOME": str(self.home)}

    def cli(self, *args: str, ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
        proc = run_cli([*args, "--json"], self.repo, env=self.env)
        assert proc.returncode in ok, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        return parse_one_json(proc.stdout)

    def sync(self, *args: str, ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
        return self.cli("sync", *args, ok=ok)

    def move(self, slug: str, wp: str, lane: str) -> None:
        self.cli("agent", "tasks", "move-task", wp, "--to", lane, "--force", "--reason",
                 "e2e", "--actor", self.user.email, "--mission", slug)

    def local_lanes(self, slug: str) -> dict[str, str]:
        status = json.loads((self.repo / "kitty-specs" / slug / "status.json").read_text())
        return {wp: state["lane"] for wp, state in status["work_packages"].items()}

    def log_ids(self, slug: str) -> list[str]:
        lines = (self.repo / "kitty-specs" / slug / "status.events.jsonl").read_text()
        rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
        return [row["event_id"] for row in rows if "to_lane" in row]

    @property
    def project_uuid(self) -> str:
        config = (self.repo / ".kittify" / "config.yaml").read_text()
        return next(line.split(":", 1)[1].strip().strip("'\"") for line in config.splitlines()
                    if line.strip().startswith("uuid:"))


def member(hub: HubServer, base: Path, name: str, monkeypatch: Any,
           user: HubUser | None = None) -> Member:
    """A hub user logged in with `spec-kitty auth login --headless`, with an initialised
    repository of their own."""
    user = user or hub.create_user()
    home = base / f"{name}-home"
    repo = make_git_repo(base / f"{name}-repo")
    original = os.environ["SPEC_KITTY_HOME"]
    monkeypatch.setenv("SPEC_KITTY_HOME", str(home))
    headless_login(hub, repo, user.email)
    monkeypatch.setenv("SPEC_KITTY_HOME", original)
    person = Member(hub, user, home, repo)
    person.cli("init", ".", "--ai", "claude", "--non-interactive")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return person


def planned_mission(person: Member) -> str:
    """plan_mission (create → finalize, four WPs) run with this person's environment."""
    saved = {key: os.environ.get(key) for key in person.env}
    os.environ.update(person.env)
    try:
        return plan_mission(person.repo).name
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def hub_get(person: Member, path: str, status: int = 200) -> Any:
    token = person.hub.login(person.user)["access_token"]
    response = person.hub.http.get(path, headers=person.hub.bearer(token))
    assert response.status_code == status, response.text
    return response.json()


def hub_board(person: Member, team: str, slug: str) -> dict[str, str]:
    board = hub_get(person, f"/api/v1/teams/{team}/projects/{person.project_uuid}/missions/"
                    f"{slug}/board")
    return {card["id"]: card["lane"] for card in board["work_packages"]}


def hub_event_ids(person: Member, team: str, slug: str) -> list[str]:
    """Every stored event id of the mission, in arrival order (all pages)."""
    token = person.hub.login(person.user)["access_token"]
    base = f"/api/v1/teams/{team}/projects/{person.project_uuid}/missions/{slug}/events"
    ids: list[str] = []
    after: int | None = 0
    while after is not None:
        response = person.hub.http.get(base, params={"after": after, "limit": 500},
                                       headers=person.hub.bearer(token))
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [event["envelope"]["event_id"] for event in page["events"]]
        after = page["next_after"]
    return ids


__all__ = ["Member", "hub_board", "hub_event_ids", "hub_get", "member", "planned_mission",
           "sk"]


LANES = ("planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done")


def produce(person: Member, mission: str, count: int, start: int,
            reason: str = "load test " * 8) -> list[str]:
    """Queue ``count`` WPStatusChanged envelopes of a synthetic mission; their ids."""
    from ulid import ULID

    from spec_kitty.core.sync.envelope import envelope_for_status_event
    from spec_kitty.hosted.runtime import RuntimePaths
    from spec_kitty.repo.paths import ProjectPaths
    from spec_kitty.sync.context import envelope_context
    from spec_kitty.sync.emitter import enqueue
    from spec_kitty.sync.scope import current_scope

    paths = RuntimePaths(person.home)
    scope = current_scope(paths)
    assert scope is not None
    context = envelope_context(ProjectPaths(person.repo), scope.team_slug)
    envelopes: list[dict[str, Any]] = []
    for n in range(start, start + count):
        row = {"event_id": str(ULID()), "mission_slug": mission, "wp_id": f"WP{n % 40 + 1:02d}",
               "from_lane": LANES[n % 6], "to_lane": LANES[n % 6 + 1], "force": False,
               "at": f"2026-11-29T10:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}+00:00",
               "actor": "load", "execution_mode": "worktree", "reason": reason}
        envelopes.append(envelope_for_status_event(row, context, 0))
    assert enqueue(envelopes, scope, paths) == count
    return [env["event_id"] for env in envelopes]
