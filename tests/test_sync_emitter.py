"""The emitter: every status write and mission step is queued, only when it should be."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from auth_helpers import sample_session
from spec_kitty.auth.storage import SessionStore
from spec_kitty.core.sync.schemas import envelope_problems
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.queue import EventQueue
from spec_kitty.sync.scope import current_scope

from helpers import make_git_repo, run_cli
from planning_helpers import plan_mission, sk

GATE = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}


def runtime() -> RuntimePaths:
    return RuntimePaths(Path(os.environ["SPEC_KITTY_HOME"]))


def log_in() -> None:
    SessionStore(runtime()).save(sample_session("http://127.0.0.1:9"))


def queued() -> list[dict[str, Any]]:
    scope = current_scope(runtime())
    assert scope is not None
    path = scope.queue_path(runtime())
    if not path.exists():
        return []
    with EventQueue(path) as queue:
        return [event.envelope for event in queue.all_events()]


def log_rows(mission_dir: Path) -> list[dict[str, Any]]:
    lines = (mission_dir / "status.events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = make_git_repo(tmp_path / "repo")
    assert run_cli(["init", ".", "--ai", "claude", "--non-interactive"], repo).returncode == 0
    from helpers import git
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def test_gate_on_and_logged_in_queues_every_step(project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    log_in()
    mission_dir = plan_mission(project)
    slug = mission_dir.name
    code, result = sk(project, "agent", "tasks", "move-task", "WP01", "--to", "claimed",
                      "--actor", "claude", "--mission", slug)
    assert code == 0, result
    envelopes = queued()
    assert all(envelope_problems(env) == [] for env in envelopes)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for env in envelopes:
        by_type.setdefault(env["event_type"], []).append(env)
    assert len(by_type["MissionCreated"]) == 1
    assert sorted(env["payload"]["wp_id"] for env in by_type["WPCreated"]) == [
        "WP01", "WP02", "WP03", "WP04"]
    transitions = [row for row in log_rows(mission_dir) if "to_lane" in row]
    # every lane transition of the repo log is queued under its own event_id
    assert [env["event_id"] for env in by_type["WPStatusChanged"]] == [
        row["event_id"] for row in transitions]
    claim = by_type["WPStatusChanged"][-1]
    assert claim["payload"]["to_lane"] == "claimed" and claim["payload"]["sync_lane"] == "planned"
    assert claim["team_slug"] == "ada-space" and claim["git_branch"] == "main"
    assert len(claim["head_commit_sha"]) == 40
    clocks = [env["lamport_clock"] for env in envelopes]
    assert len(set(clocks)) == len(clocks)


def test_not_logged_in_or_gate_off_queues_nothing(project: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Planned with the gate off: with it on, setup-plan refuses without a login
    # (test_sync_boundary.py).
    slug = plan_mission(project).name
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")  # gate on, nobody logged in
    assert sk(project, "agent", "tasks", "move-task", "WP01", "--to", "claimed", "--actor",
              "claude", "--mission", slug)[0] == 0
    assert not (runtime().root / "queues").exists()
    assert not (runtime().root / "clock.json").exists()
    monkeypatch.delenv("SPEC_KITTY_ENABLE_SAAS_SYNC")
    log_in()
    assert sk(project, "agent", "tasks", "move-task", "WP01", "--to", "in_progress",
              "--actor", "claude", "--mission", slug)[0] == 0
    assert not (runtime().root / "queues").exists()


def test_a_failing_emitter_never_fails_the_command(project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    log_in()
    mission_dir = plan_mission(project)
    runtime().config_file.write_text("[sync]\nmax_queue_size = -3\n")
    proc = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed", "--actor",
                    "claude", "--mission", mission_dir.name, "--json"], project, env=GATE)
    assert proc.returncode == 0, proc.stderr
    assert "error" not in json.loads(proc.stdout)
    assert "max_queue_size" in proc.stderr and "sync backfill" in proc.stderr
    assert log_rows(mission_dir)[-1]["to_lane"] == "claimed"  # the write itself happened


def test_a_full_queue_refuses_and_says_so(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log_in()
    runtime().config_file.write_text("[sync]\nmax_queue_size = 1\n")
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    proc = run_cli(["agent", "mission", "create", "demo", "--json"], project)
    assert proc.returncode == 0 and len(queued()) == 1  # MissionCreated fits
    slug = json.loads(proc.stdout)["mission_slug"]
    mission_dir = project / "kitty-specs" / slug
    from planning_helpers import write_spec, write_tasks
    write_spec(mission_dir)
    write_tasks(mission_dir)
    proc = run_cli(["agent", "mission", "finalize-tasks", "--mission", slug, "--json"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is full (1 / 1)" in proc.stderr
    assert len(queued()) == 1  # nothing evicted
