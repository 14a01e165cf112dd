"""``spec-kitty sync status/diagnose/server/backfill`` and the gate, without a hub."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from auth_helpers import sample_session
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.gate import OFF_MESSAGE
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.scope import current_scope

from helpers import git, make_git_repo, parse_one_json, run_cli
from planning_helpers import plan_mission, sk

GATE = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:9"}


def runtime() -> RuntimePaths:
    return RuntimePaths(Path(os.environ["SPEC_KITTY_HOME"]))


def sync(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    proc = run_cli(["sync", *args, "--json"], cwd, env=GATE if env is None else env)
    return proc.returncode, parse_one_json(proc.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = make_git_repo(tmp_path / "repo")
    assert run_cli(["init", ".", "--ai", "claude", "--non-interactive"], repo).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def test_gate_off_hides_the_group_and_now_is_a_no_op(project: Path) -> None:
    off = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "0"}
    assert "sync" not in run_cli(["--help"], project, env=off).stdout
    assert "sync" in run_cli(["--help"], project, env=GATE).stdout
    proc = run_cli(["sync", "now"], project, env=off)
    assert proc.returncode == 0 and OFF_MESSAGE in proc.stdout
    code, result = sync(project, "status", env=off)
    assert code == 1 and result["error_code"] == "ROLLOUT_DISABLED"
    assert not runtime().root.exists()


def test_status_names_every_blocker_without_creating_anything(project: Path) -> None:
    code, report = sync(project, "status", env={**GATE, "SPEC_KITTY_SAAS_URL": ""})
    assert code == 0 and not report["drain_ready"]
    assert {b["code"] for b in report["blockers"]} == {"no_host", "no_auth"}
    assert report["queue"]["depth"] == 0 and report["queue"]["max"] == 100_000
    assert not (runtime().root / "queues").exists()


def test_now_refuses_when_not_logged_in(project: Path) -> None:
    code, result = sync(project, "now")
    assert code == 1 and result["error_code"] == "MISSING_AUTH"


def test_server_shows_sets_and_validates(project: Path) -> None:
    env = {**GATE, "SPEC_KITTY_SAAS_URL": ""}
    code, shown = sync(project, "server", env=env)
    assert code == 0 and shown["server_url"] is None
    code, result = sync(project, "server", "https://hub.example.com/", env=env)
    assert code == 0 and result["server_url"] == "https://hub.example.com"
    assert 'server_url = "https://hub.example.com"' in runtime().config_file.read_text()
    assert sync(project, "server", env=env)[1]["server_url"] == "https://hub.example.com"
    code, result = sync(project, "server", "http://hub.example.com", env=env)
    assert code == 1 and result["error_code"] == "SERVER_URL_INVALID"


def test_backfill_status_and_diagnose(project: Path) -> None:
    mission_dir = plan_mission(project)  # gate off: recorded locally only
    SessionStore(runtime()).save(sample_session("http://127.0.0.1:9"))
    code, result = sync(project, "backfill")
    assert code == 0, result
    rows = [json.loads(x) for x in (mission_dir / "status.events.jsonl").read_text().splitlines()]
    # MissionCreated + 4 WPCreated + every lane transition of the log
    assert result["queued"] == 5 + len(rows) and result["already_known"] == 0
    assert sync(project, "backfill")[1]["queued"] == 0  # nothing twice

    code, report = sync(project, "status")
    assert code == 0 and report["drain_ready"]
    assert report["queue"]["depth"] == result["queued"]
    assert report["queue"]["retry_histogram"]["0 retries"] == result["queued"]
    assert report["scope"]["team"] == "ada-space"
    assert {t["event_type"] for t in report["queue"]["top_event_types"]} == {
        "WPStatusChanged", "WPCreated", "MissionCreated"}
    text = run_cli(["sync", "status"], project, env=GATE).stdout
    assert f"Queue:        {result['queued']} / 100000" in text

    code, diag = sync(project, "diagnose")
    assert code == 0 and diag["invalid"] == 0 and diag["total"] == result["queued"]

    # corrupt one queued event: diagnose names the field and exits 1
    scope = current_scope(runtime())
    assert scope is not None
    conn = sqlite3.connect(scope.queue_path(runtime()))
    event_id, data = conn.execute("SELECT event_id, data FROM queue WHERE event_type = "
                                  "'WPStatusChanged' LIMIT 1").fetchone()
    broken = json.loads(data)
    broken["payload"]["to_lane"] = "awaiting-review"
    broken["lamport_clock"] = "soon"
    conn.execute("UPDATE queue SET data = ? WHERE event_id = ?", (json.dumps(broken), event_id))
    conn.commit()
    code, diag = sync(project, "diagnose")
    assert code == 1 and diag["error_code"] == "SYNC_EVENTS_INVALID" and diag["invalid"] == 1
    bad = next(r for r in diag["results"] if not r["valid"])
    assert bad["event_id"] == event_id
    assert {e["field"] for e in bad["errors"]} == {"payload.to_lane", "lamport_clock"}


def test_backfill_after_moves_with_the_gate_on_adds_nothing_new(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SessionStore(runtime()).save(sample_session("http://127.0.0.1:9"))
    mission_dir = plan_mission(project)
    for key, value in GATE.items():
        monkeypatch.setenv(key, value)
    assert sk(project, "agent", "tasks", "move-task", "WP01", "--to", "claimed",
              "--actor", "claude", "--mission", mission_dir.name)[0] == 0
    code, result = sync(project, "backfill")
    depth = sync(project, "status")[1]["queue"]["depth"]
    # the move was queued by the emitter under the log's id: backfill adds the rest only
    assert code == 0 and result["already_known"] >= 1 and depth == result["queued"] + 1


def test_now_against_an_unreachable_hub_stops_without_losing_anything(
        project: Path, tmp_path: Path) -> None:
    plan_mission(project)
    SessionStore(runtime()).save(sample_session("http://127.0.0.1:9"))  # nothing listens
    queued = sync(project, "backfill")[1]["queued"]
    report = tmp_path / "report.json"
    proc = run_cli(["sync", "now", "--strict", "--report", str(report)], project, env=GATE)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Synced: 0, Duplicates: 0, Pending: " in proc.stdout
    assert "(retryable_transport)" in proc.stdout and "Traceback" not in proc.stderr
    written = json.loads(report.read_text())
    assert written["summary"]["pending"] == queued and written["failures"] == []
    assert written["blocker"]["category"] == "retryable_transport"
    status = sync(project, "status")[1]
    assert status["queue"]["depth"] == queued  # nothing lost, no retry counted
    assert status["queue"]["retry_histogram"]["0 retries"] == queued
    assert status["last_sync"]["blocker"]["category"] == "retryable_transport"
    code, result = sync(project, "now")  # without --strict: reported, exit 0
    assert code == 0 and result["blocker"]["category"] == "retryable_transport"


def test_team_and_text_outputs(project: Path) -> None:
    SessionStore(runtime()).save(sample_session("http://127.0.0.1:9"))
    code, result = sync(project, "team", "nope")
    assert code == 1 and result["error_code"] == "TEAM_NOT_MEMBER"
    assert sync(project, "team", "acme")[1]["team"] == "acme"
    assert sync(project, "team")[1] == {"result": "shown", "team": "acme"}
    assert "team acme" in run_cli(["sync", "team"], project, env=GATE).stdout
    text = run_cli(["sync", "diagnose"], project, env=GATE).stdout
    assert "Queued events: 0, valid: 0, invalid: 0" in text
    assert "http://127.0.0.1:9 (SPEC_KITTY_SAAS_URL)" in run_cli(
        ["sync", "server"], project, env=GATE).stdout
    plan_mission(project)
    text = run_cli(["sync", "backfill"], project, env=GATE).stdout
    assert "Run `spec-kitty sync now` to deliver them." in text
