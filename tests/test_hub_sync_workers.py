"""Two hub processes on one PostgreSQL database ingest overlapping batches at once:
every event is stored exactly once and the boards count right."""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub_fixtures import HubServer
from sync_hub_helpers import Repo, post_batch, stored_count

pytestmark = [pytest.mark.hub, pytest.mark.slow]
LANES = ["planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done"]


def _history(repo: Repo, seed: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Envelopes of 3 missions × 8 WPs walking a random way along the lanes, and the
    lane each WP must end in."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    final: dict[str, dict[str, str]] = {}
    for m in range(3):
        mission = f"mission-{m}"
        final[mission] = {}
        for w in range(1, 9):
            wp = f"WP{w:02d}"
            events.append(repo.created(mission, wp, f"Work package {w}", 0))
            steps = rng.randint(1, len(LANES))
            previous = None
            for step, lane in enumerate(LANES[:steps]):
                events.append(repo.move(mission, wp, previous, lane, 10 * w + step + 1))
                previous = lane
            final[mission][wp] = previous or "uninitialized"
    return events, final


def _sender(url: str, token: str, team: str, events: list[dict[str, Any]], seed: int,
            results: list[str], errors: list[str], start: threading.Barrier) -> None:
    order = list(events)
    random.Random(seed).shuffle(order)
    with httpx.Client(base_url=url, timeout=120, trust_env=False) as http:
        start.wait()
        for begin in range(0, len(order), 20):
            response = post_batch(http, token, order[begin:begin + 20], team=team)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text}")
                continue
            results.extend(r["status"] for r in response.json()["results"])


def test_two_workers_store_each_event_once_and_count_boards_right(
        postgres_hub: HubServer, tmp_path: Path) -> None:
    second = HubServer(backend="postgresql", database_url=postgres_hub.database_url,
                       workdir=tmp_path)
    second.start()
    try:
        user = postgres_hub.create_user()
        token = postgres_hub.login(user)["access_token"]
        repo = Repo(team=user.private_team)
        events, final = _history(repo, seed=12)
        results: list[str] = []
        errors: list[str] = []
        start = threading.Barrier(4)
        threads = [threading.Thread(target=_sender, args=(
            hub.url, token, user.private_team, events, seed, results, errors, start))
            for seed, hub in enumerate([postgres_hub, second, postgres_hub, second])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    finally:
        second.stop()
    assert errors == []
    assert Counter(results) == {"success": len(events), "duplicate": 3 * len(events)}
    assert stored_count(postgres_hub, user.private_team) == len(events)
    base = f"/api/v1/teams/{user.private_team}/projects/{repo.project_uuid}/missions"
    auth = postgres_hub.bearer(token)
    missions = {m["mission_slug"]: m for m in postgres_hub.http.get(base, headers=auth).json()}
    for mission, lanes in final.items():
        board = postgres_hub.http.get(f"{base}/{mission}/board", headers=auth).json()
        assert {card["id"]: card["lane"] for card in board["work_packages"]} == lanes
        expected = Counter(lane for lane in lanes.values() if lane != "uninitialized")
        assert {k: v for k, v in missions[mission]["by_lane"].items() if v} == expected
        transitions = sum(1 for e in events if e["event_type"] == "WPStatusChanged"
                          and e["payload"]["mission_slug"] == mission)
        assert missions[mission]["event_count"] == transitions == board["event_count"]
