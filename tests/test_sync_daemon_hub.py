"""The daemon against a real hub: a move-task reaches the hub with nobody running
`sync now`; kill -9 of the daemon mid-drain, round after round, loses and duplicates
nothing, and each next start recovers the stale lock and owner record.

``SPEC_KITTY_DAEMON_KILL_ROUNDS`` (default 50) sets the kill -9 rounds.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from daemon_helpers import Daemons, daemon_pids, log_text, record, wait_for
from hub_fixtures import HubServer
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import client
from spec_kitty.sync.daemon.owner import process_gone
from spec_kitty.sync.emitter import open_queue
from spec_kitty.sync.scope import current_scope
from sync_e2e_helpers import (
    Member,
    hub_board,
    hub_event_ids,
    member,
    planned_mission,
    produce,
)

pytestmark = pytest.mark.hub


def queue_depth(person: Member) -> int:
    paths = RuntimePaths(person.home)
    scope = current_scope(paths)
    assert scope is not None
    with open_queue(scope, paths) as queue:
        return queue.depth()


def test_move_task_reaches_the_hub_without_sync_now(
        daemons: Daemons, hub_server: HubServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    person = member(hub_server, tmp_path, "dee", monkeypatch)
    daemons.watch(person.home)
    slug = planned_mission(person)
    person.move(slug, "WP01", "in_progress")
    person.move(slug, "WP02", "for_review")
    team = person.user.private_team
    wanted = set(person.log_ids(slug))
    assert len(wanted) >= 2
    wait_for(lambda: wanted <= set(hub_event_ids(person, team, slug)),
             "the moves to reach the hub")
    assert hub_board(person, team, slug) == person.local_lanes(slug)
    owner = record(person.home)
    assert owner is not None and daemon_pids(person.home) == [owner.pid]
    assert owner.server_url == hub_server.url and owner.user == person.user.email
    assert "drained in" in log_text(person.home)
    wait_for(lambda: queue_depth(person) == 0, "an empty queue")
    status = person.sync("daemon", "status")
    assert status["running"] and status["health"]["last_drain"]["ok"] is True


def test_kill_9_of_the_daemon_mid_drain(daemons: Daemons, sqlite_hub: HubServer,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    person = member(sqlite_hub, tmp_path, "kai", monkeypatch)
    daemons.watch(person.home)
    mission = "daemon-kill9"
    rng = random.Random(int(os.environ.get("SPEC_KITTY_SYNC_SEED", "1729")))
    rounds = int(os.environ.get("SPEC_KITTY_DAEMON_KILL_ROUNDS", "50"))
    produced: list[str] = []
    mid_drain = 0
    previous: int | None = None
    for round_ in range(rounds):
        produced += produce(person, mission, 400, round_ * 400)
        started = person.sync("daemon", "start")
        assert started["started"] and started["pid"] != previous
        owner = record(person.home)
        assert owner is not None and owner.pid == started["pid"]  # stale one replaced
        time.sleep(rng.uniform(0, 0.2))  # where the kill lands; nothing is timed
        try:
            draining = bool(client.health(owner.port, timeout=10)["draining"])
        except client.DaemonUnreachable:
            draining = False
        os.kill(owner.pid, signal.SIGKILL)
        mid_drain += draining
        wait_for(lambda pid=owner.pid: process_gone(pid, None), "the kill")
        stale = record(person.home)
        assert stale is not None and stale.pid == owner.pid  # left behind by the crash
        previous = owner.pid
    final = person.sync("daemon", "start")
    assert final["started"]
    wait_for(lambda: queue_depth(person) == 0, "the last drain", 120)
    assert mid_drain > 0, "no kill landed during a drain"
    stored = hub_event_ids(person, person.user.private_team, mission)
    assert len(stored) == len(set(stored)), "the hub stored an event twice"
    assert set(stored) == set(produced), "the hub misses events or holds foreign ones"
    print(f"kill -9 rounds: {rounds}, landed mid-drain: {mid_drain}")


def test_shutdown_during_a_drain_lets_the_drain_finish(
        daemons: Daemons, sqlite_hub: HubServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    person = member(sqlite_hub, tmp_path, "sam", monkeypatch)
    daemons.watch(person.home)
    produced = produce(person, "daemon-shutdown", 5000, 0)
    started = person.sync("daemon", "start")
    owner = record(person.home)
    assert owner is not None and owner.pid == started["pid"]
    # 5,000 events take the drain well over a second; health is polled every 20 ms
    wait_for(lambda: client.health(owner.port)["draining"], "the drain to start")
    assert client.shutdown(RuntimePaths(person.home), owner.port)
    wait_for(lambda: process_gone(owner.pid, owner.process_start), "the daemon's exit")
    log = log_text(person.home)
    assert log.index("drained in") < log.index("exiting: shutdown requested")
    assert queue_depth(person) == 0, "the daemon left in the middle of its drain"
    assert set(hub_event_ids(person, person.user.private_team, "daemon-shutdown")) == \
        set(produced)
    assert record(person.home) is None
