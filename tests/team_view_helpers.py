"""Arrange a team with one synced mission on a real hub, for the team-view tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub_fixtures import HubServer, HubUser
from sync_hub_helpers import Repo, post_batch, statuses

MISSION = "todo-cli-01KTEAM"
TASKS = ("# Tasks\n\n## WP01: Parser\n\n**Dependencies**: none\n\n"
         "## WP02: CSV import\n\n**Dependencies**: WP01\n\n"
         "## WP03: Docs\n\n**Dependencies**: WP01, WP02\n\n"
         "## WP04: Release\n\n**Dependencies**: WP03\n")
FEEDBACK_PATH = "reviews/WP02-cycle-1.md"
FEEDBACK = "# Review of WP02\n\nThe parser drops quoted commas; add a test for them.\n"
# As the CLI writes it: frontmatter, and referenced from the project root.
FEEDBACK_FILE = f"---\nwp_id: WP02\ncycle_number: 1\nverdict: changes_requested\n---\n{FEEDBACK}"
FEEDBACK_REF = f"feedback:kitty-specs/{MISSION}/{FEEDBACK_PATH}"


@dataclass
class TeamMission:
    """Two members of one team, an outsider, and one synced mission."""

    hub: HubServer
    lead: HubUser
    member: HubUser
    outsider: HubUser
    team: str
    token: str
    repo: Repo

    @property
    def project_url(self) -> str:
        return f"/t/{self.team}/p/{self.repo.project_uuid}"

    @property
    def mission_url(self) -> str:
        return f"{self.project_url}/m/{MISSION}"

    def push(self, events: list[dict[str, Any]]) -> None:
        response = post_batch(self.hub.http, self.token, events, team=self.team)
        assert set(statuses(response)) == {"success"}, response.text

    def push_document(self, path: str, body: str) -> None:
        response = self.hub.http.post("/api/dossier/push-content/", json={
            "project_uuid": self.repo.project_uuid, "mission_slug": MISSION,
            "artifact_path": path, "content_body": body}, headers={
            **self.hub.bearer(self.token), "X-Team-Slug": self.team})
        assert response.status_code in (200, 201), response.text


def team_mission(hub: HubServer) -> TeamMission:
    """A team (lead + member) whose repo synced a four-WP mission: WP01 in progress,
    WP02 sent back from review with feedback, WP03 blocked, WP04 planned; and an
    outsider with a team of their own."""
    lead, member, outsider = hub.create_user(), hub.create_user(), hub.create_user()
    team = hub.create_team(owner=lead.email, members=(member.email,))
    token = hub.login(lead)["access_token"]
    repo = Repo(team=team, project_slug="todo-cli")
    arranged = TeamMission(hub, lead, member, outsider, team, token, repo)
    m = MISSION
    arranged.push([
        *[repo.created(m, wp, title, 0) for wp, title in (
            ("WP01", "Parser"), ("WP02", "CSV import"), ("WP03", "Docs"), ("WP04", "Release"))],
        *[repo.move(m, wp, None, "planned", 1) for wp in ("WP01", "WP02", "WP03", "WP04")],
        repo.move(m, "WP01", "planned", "claimed", 2),
        repo.move(m, "WP01", "claimed", "in_progress", 3),
        repo.move(m, "WP02", "planned", "in_progress", 4),
        repo.move(m, "WP02", "in_progress", "for_review", 5),
        repo.move(m, "WP02", "for_review", "in_progress", 6, actor="reviewer-bot",
                  reason="changes requested: quoted commas",
                  review_ref=FEEDBACK_REF),
        repo.move(m, "WP03", "planned", "blocked", 7, reason="waits on the parser"),
    ])
    arranged.push_document("spec.md", "# Todo CLI\n\nUsers keep todos in a CSV file.\n")
    arranged.push_document(FEEDBACK_PATH, FEEDBACK_FILE)
    arranged.push_document("tasks.md", TASKS)
    return arranged
