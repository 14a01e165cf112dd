"""Faults while draining to a real hub: kill -9 of `sync now`, the hub going away and
coming back, an access token that stops working, and movers writing during a drain.

In every case the hub ends up holding exactly the events produced (no gap, no
duplicate) and the queue is empty. Loops are bounded: ``SPEC_KITTY_SYNC_KILL_ROUNDS``
(default 20) sets the kill -9 rounds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from auth_helpers import rewrite_session
from hub_fixtures import HubServer, free_port
from spec_kitty.auth.storage import SessionStore
from spec_kitty.core.sync_envelope import envelope_for_status_event
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.sync.context import envelope_context
from spec_kitty.sync.emitter import enqueue
from spec_kitty.sync.queue import EventQueue
from spec_kitty.sync.scope import current_scope
from sync_e2e_helpers import Member, hub_board, hub_event_ids, member, planned_mission

from helpers import CLI

pytestmark = [pytest.mark.hub, pytest.mark.slow]
LANES = ("planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done")


def produce(person: Member, mission: str, count: int, start: int) -> list[str]:
    """Queue ``count`` WPStatusChanged envelopes of a synthetic mission; their ids."""
    paths = RuntimePaths(person.home)
    scope = current_scope(paths)
    assert scope is not None
    context = envelope_context(ProjectPaths(person.repo), scope.team_slug)
    envelopes: list[dict[str, Any]] = []
    for n in range(start, start + count):
        row = {"event_id": str(ULID()), "mission_slug": mission, "wp_id": f"WP{n % 40 + 1:02d}",
               "from_lane": LANES[n % 6], "to_lane": LANES[n % 6 + 1], "force": False,
               "at": f"2026-11-29T10:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}+00:00",
               "actor": "load", "execution_mode": "worktree", "reason": "load test " * 8}
        envelopes.append(envelope_for_status_event(row, context, 0))
    assert enqueue(envelopes, scope, paths) == count
    return [env["event_id"] for env in envelopes]


def queue_rows(person: Member) -> list[Any]:
    scope = current_scope(RuntimePaths(person.home))
    assert scope is not None
    with EventQueue(scope.queue_path(RuntimePaths(person.home))) as queue:
        return list(queue.all_events())


def start_sync(person: Member) -> subprocess.Popen[str]:
    return subprocess.Popen([str(CLI), "sync", "now", "--json"], cwd=person.repo, text=True,
                            env={**os.environ, **person.env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def assert_exactly(person: Member, mission: str, produced: list[str]) -> None:
    stored = hub_event_ids(person, person.user.private_team, mission)
    assert len(stored) == len(set(stored)), "the hub stored an event twice"
    assert set(stored) == set(produced), "the hub misses events or holds foreign ones"
    assert queue_rows(person) == []


def test_kill_9_of_sync_now_at_random_points(sqlite_hub: HubServer, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    person = member(sqlite_hub, tmp_path, "kim", monkeypatch)
    mission = "load-kill9"
    rng = random.Random(int(os.environ.get("SPEC_KITTY_SYNC_SEED", "1729")))
    produced: list[str] = []
    killed = 0
    for round_ in range(int(os.environ.get("SPEC_KITTY_SYNC_KILL_ROUNDS", "20"))):
        produced += produce(person, mission, 250, round_ * 250)
        proc = start_sync(person)
        time.sleep(rng.uniform(0.2, 1.5))  # where the kill lands; nothing is timed
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.communicate(timeout=120)
    final = person.sync("now")
    assert final["failed"] == 0 and final["pending"] == 0, final
    assert killed > 0  # the loop did interrupt drains
    assert_exactly(person, mission, produced)


def test_hub_stopped_mid_drain_and_restarted(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    hub = HubServer(backend="sqlite", database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
                    workdir=tmp_path)
    hub.start("--port", str(port))
    try:
        person = member(hub, tmp_path, "hal", monkeypatch)
        produced = produce(person, "load-restart", 2000, 0)
        proc = start_sync(person)
        time.sleep(random.uniform(0.5, 1.5))
        hub.stop()
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, out + err
        assert "Traceback" not in err
        answer = json.loads(out)
        left = queue_rows(person)
        if answer["blocker"]:  # the stop landed mid-drain
            assert answer["blocker"]["category"] == "retryable_transport"
            assert answer["pending"] == len(left) > 0
        # whole-batch failures never count as retries
        assert all(row.retry_count == 0 for row in left)
        stopped = person.sync("now")
        assert stopped["blocker"] is None or stopped["blocker"]["category"] == \
            "retryable_transport"
        hub.url = ""
        hub.start("--port", str(port))
        final = person.sync("now")
        assert final["pending"] == 0 and final["failed"] == 0, final
        assert_exactly(person, "load-restart", produced)
    finally:
        hub.stop()


def test_token_refused_mid_drain_is_refreshed_once(sqlite_hub: HubServer, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    person = member(sqlite_hub, tmp_path, "tom", monkeypatch)
    produced = produce(person, "load-token", 1500, 0)
    store = SessionStore(RuntimePaths(person.home))
    before = store.load()
    assert before is not None
    # the hub no longer accepts this access token although it has not expired locally
    rewrite_session(store, access_token="revoked-" + before.access_token[:8])
    summary = person.sync("now")
    assert summary["synced"] == 1500 and summary["failed"] == 0 and not summary["blocker"]
    after = store.load()
    assert after is not None and after.refresh_token != before.refresh_token
    assert after.session_id == before.session_id
    assert_exactly(person, "load-token", produced)


def test_eight_movers_while_draining(sqlite_hub: HubServer, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    person = member(sqlite_hub, tmp_path, "max", monkeypatch)
    slug = planned_mission(person)
    movers = []
    for n in range(8):
        wp = f"WP0{n % 4 + 1}"
        script = " && ".join(
            f"{CLI} agent tasks move-task {wp} --to {lane} --force --reason r{n} "
            f"--actor mover{n} --mission {slug} --json > /dev/null"
            for lane in ("claimed", "in_progress", "blocked"))
        movers.append(subprocess.Popen(["sh", "-c", script], cwd=person.repo,
                                       env={**os.environ, **person.env}))
    drains = 0
    while any(p.poll() is None for p in movers):
        person.sync("now")
        drains += 1
    assert all(p.wait(timeout=300) == 0 for p in movers)
    final = person.sync("now")
    assert final["failed"] == 0 and final["pending"] == 0
    assert drains >= 1
    team = person.user.private_team
    assert hub_board(person, team, slug) == person.local_lanes(slug)
    stored = hub_event_ids(person, team, slug)
    assert set(person.log_ids(slug)) <= set(stored) and len(stored) == len(set(stored))
