"""Build real sync envelopes (with ``spec_kitty.core.sync.envelope``) and post batches
to a running hub, for the hub's event-sync tests and benchmarks."""

from __future__ import annotations

import gzip
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from ulid import ULID

from spec_kitty.core.sync.envelope import (
    EnvelopeContext,
    envelope_for_status_event,
    wp_created_envelope,
)

BATCH = "/api/v1/events/batch/"
BASE_TIME = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (BASE_TIME + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@dataclass
class Repo:
    """One project on one machine producing envelopes for one team."""

    team: str
    project_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    project_slug: str = "demo-repo"
    clock: int = 0

    @property
    def context(self) -> EnvelopeContext:
        return EnvelopeContext(build_id=f"build-{self.project_uuid[:8]}", node_id="node1234abcd",
                               project_uuid=self.project_uuid, team_slug=self.team,
                               project_slug=self.project_slug, git_branch="main",
                               head_commit_sha="0" * 40, repo_slug=f"acme/{self.project_slug}")

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def move(self, mission: str, wp_id: str, from_lane: str | None, to_lane: str,
             at: float, event_id: str | None = None, **extra: Any) -> dict[str, Any]:
        """A WPStatusChanged envelope built from a status.events.jsonl row."""
        row = {"event_id": event_id or str(ULID()), "mission_slug": mission, "wp_id": wp_id,
               "from_lane": from_lane, "to_lane": to_lane, "at": stamp(at),
               "actor": "claude", "force": False, "execution_mode": "worktree", **extra}
        return envelope_for_status_event(row, self.context, self.tick())

    def created(self, mission: str, wp_id: str, title: str, at: float) -> dict[str, Any]:
        payload = {"wp_id": wp_id, "wp_title": title, "mission_slug": mission,
                   "actor": "finalize-tasks"}
        return wp_created_envelope(mission_slug=mission, mission_id=None, payload=payload,
                                   timestamp=stamp(at), lamport_clock=self.tick(),
                                   context=self.context)


def post_batch(http: httpx.Client, token: str, events: list[Any], *, team: str | None = None,
               gzip_body: bool = True, **headers: str) -> httpx.Response:
    body = orjson.dumps({"events": events})
    sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            **headers}
    if team is not None:
        sent["X-Team-Slug"] = team
    if gzip_body:
        body = gzip.compress(body)
        sent["Content-Encoding"] = "gzip"
    return http.post(BATCH, content=body, headers=sent)


def statuses(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [result["status"] for result in response.json()["results"]]


def stored_count(hub: Any, team: str) -> int:
    """Events stored for ``team``, read straight from the hub's database."""
    from sqlalchemy import func, select

    from spec_kitty_hub.db.models import Team
    from spec_kitty_hub.db.sync_models import SyncEvent

    with hub.db.read() as session:
        return int(session.scalar(select(func.count(SyncEvent.id)).join(
            Team, Team.id == SyncEvent.team_id).where(Team.slug == team)) or 0)
