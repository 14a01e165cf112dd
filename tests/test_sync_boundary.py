"""``sync status --check``, ``sync doctor``, ``sync migrate`` and setup-plan evidence,
without a hub (the hub side is test_sync_boundary_hub.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from spec_kitty.sync.daemon import owner
from spec_kitty.sync.queue import EventQueue
from sync_boundary_helpers import (
    GATE,
    ids_in,
    logged_in,
    make_legacy,
    record_for,
    runtime,
    sleeper,
    sync,
)

from helpers import run_cli
from planning_helpers import create

CHECK_KEYS = {"ok", "exit_code", "foreground", "daemon_owner_record", "active_queue",
              "legacy_queue", "mismatches", "orphan_records"}


def test_check_gate_on_without_login_exits_2_and_reports_an_unreachable_hub(
        tmp_path: Path) -> None:
    code, report = sync(tmp_path, "status", "--check")
    assert code == 2 and set(report) >= CHECK_KEYS
    assert not report["ok"] and report["exit_code"] == 2
    assert [p["code"] for p in report["problems"]] == ["not_logged_in"]
    assert report["hub"]["reachable"] is False and report["hub"]["error"]
    assert report["daemon"] == {"state": "not_running"}
    text = run_cli(["sync", "status", "--check"], tmp_path, env=GATE)
    assert text.returncode == 2 and "auth login" in text.stdout
    assert "INCOHERENT" in text.stdout and "Traceback" not in text.stderr


def test_check_logged_in_without_daemon_is_coherent(tmp_path: Path) -> None:
    scope = logged_in()
    code, report = sync(tmp_path, "status", "--check")
    assert code == 0 and report["ok"] and report["problems"] == []
    fg = report["foreground"]
    assert fg["auth_scope"] == scope.key and fg["user"] == scope.user
    assert fg["queue_path"] == str(scope.queue_path(runtime()))
    assert fg["package_version"] == owner.current_identity()["package_version"]
    assert report["daemon_owner_record"] is None and report["orphan_records"] == []
    assert report["legacy_queue"]["exists"] is False


def test_check_flags_a_configured_hub_other_than_the_sessions(tmp_path: Path) -> None:
    logged_in("http://127.0.0.1:9")
    code, report = sync(tmp_path, "status", "--check",
                        env={**GATE, "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:8"})
    assert code == 2 and [p["code"] for p in report["problems"]] == ["hub_changed"]
    assert report["foreground"]["configured_server_url"] == "http://127.0.0.1:8"
    assert "http://127.0.0.1:9" in report["problems"][0]["fix"]


def test_check_names_each_field_a_live_daemon_disagrees_on(tmp_path: Path) -> None:
    scope = logged_in()
    paths = runtime()
    proc = sleeper()
    try:
        owner.write(paths, record_for(proc.pid, scope, paths))
        code, report = sync(tmp_path, "status", "--check")
        assert code == 0, report["problems"]
        assert report["daemon"]["state"] == "running" and report["daemon"]["pid"] == proc.pid
        assert report["daemon_owner_record"]["pid"] == proc.pid
        owner.write(paths, record_for(proc.pid, scope, paths, auth_scope=scope.key))
        assert sync(tmp_path, "status", "--check")[0] == 0  # the key form matches too
        owner.write(paths, record_for(
            proc.pid, scope, paths, package_version="0.0.1", executable="/usr/bin/python9",
            server_url="http://127.0.0.1:8", auth_scope="someone-else",
            queue_path=str(paths.root / "queues" / "queue-other.db")))
        code, report = sync(tmp_path, "status", "--check")
        assert code == 2
        assert {m["field"] for m in report["mismatches"]} == {
            "package_version", "executable", "server_url", "auth_scope", "queue_path"}
        version = next(m for m in report["mismatches"] if m["field"] == "package_version")
        assert version["daemon"] == "0.0.1"
        assert [p["code"] for p in report["problems"]] == ["mismatch"]
        text = run_cli(["sync", "status", "--check"], tmp_path, env=GATE).stdout
        assert "mismatch package_version" in text and "sync daemon stop" in text
    finally:
        proc.kill()
        proc.wait()


def test_orphan_record_fails_the_check_and_doctor_fix_reaps_it(tmp_path: Path) -> None:
    scope = logged_in()
    paths = runtime()
    proc = sleeper()
    record = record_for(proc.pid, scope, paths)
    proc.kill()
    proc.wait()
    owner.write(paths, record)
    code, report = sync(tmp_path, "status", "--check")
    assert code == 2 and report["daemon"]["state"] == "orphan"
    assert [r["pid"] for r in report["orphan_records"]] == [proc.pid]
    code, doctor = sync(tmp_path, "doctor")
    daemon = next(f for f in doctor["findings"] if f["check"] == "daemon")
    assert daemon["severity"] == "error" and "doctor --fix" in daemon["fix"]
    code, doctor = sync(tmp_path, "doctor", "--fix")
    assert any("orphan" in line for line in doctor["repaired"])
    assert not owner.owner_file(paths).exists()
    assert sync(tmp_path, "status", "--check")[0] == 0


def test_a_reused_pid_is_an_orphan_not_a_daemon(tmp_path: Path) -> None:
    scope = logged_in()
    paths = runtime()
    proc = sleeper()
    try:  # same live pid, other start time: the pid was reused by another process
        owner.write(paths, record_for(proc.pid, scope, paths, process_start=1))
        code, report = sync(tmp_path, "status", "--check")
        assert code == 2 and report["daemon"]["state"] == "orphan"
    finally:
        proc.kill()
        proc.wait()


def test_unreadable_owner_record_is_named(tmp_path: Path) -> None:
    logged_in()
    target = owner.owner_file(runtime())
    target.parent.mkdir(parents=True)
    target.write_text("{not json")
    code, report = sync(tmp_path, "status", "--check")
    assert code == 2 and report["daemon"]["state"] == "invalid"
    assert str(target) in report["problems"][0]["message"]


def test_legacy_rows_fail_the_check_until_migrated(tmp_path: Path) -> None:
    scope = logged_in()
    paths = runtime()
    ids = make_legacy(paths, 25, retry=2)
    code, report = sync(tmp_path, "status", "--check")
    assert code == 2 and report["legacy_queue"]["depth"] == 25
    assert [p["code"] for p in report["problems"]] == ["legacy_rows"]
    code, result = sync(tmp_path, "migrate")
    assert code == 0 and result["moved"] == 25 and result["left"] == 0
    assert sorted(ids_in(scope.queue_path(paths))) == sorted(ids)
    assert ids_in(paths.root / "queue.db") == []
    with EventQueue(scope.queue_path(paths)) as queue:
        assert queue.depth() == 25
        assert queue.stats().retry_histogram["1-3 retries"] == 25  # retry_count kept
    code, report = sync(tmp_path, "status", "--check")
    assert code == 0 and report["active_queue"]["depth"] == 25
    code, again = sync(tmp_path, "migrate")
    assert code == 0 and again["moved"] == 0 and again["already_present"] == 0


def test_migrate_skips_rows_already_in_the_scope_and_respects_capacity(
        tmp_path: Path) -> None:
    scope = logged_in()
    paths = runtime()
    ids = make_legacy(paths, 30)
    with EventQueue(scope.queue_path(paths)) as queue:  # a crashed earlier run copied 10
        queue.enqueue([{"event_id": i, "event_type": "WPStatusChanged"} for i in ids[:10]])
    paths.config_file.write_text("[sync]\nmax_queue_size = 20\n")
    code, result = sync(tmp_path, "migrate")
    assert code == 1 and result["error_code"] == "SYNC_MIGRATE_INCOMPLETE"
    assert "full" in result["error"] and result["left"] > 0
    scoped, legacy = ids_in(scope.queue_path(paths)), ids_in(paths.root / "queue.db")
    assert len(scoped) == len(set(scoped)) <= 20
    assert set(scoped) | set(legacy) == set(ids)  # nothing lost
    paths.config_file.write_text("[sync]\nmax_queue_size = 100\n")
    code, result = sync(tmp_path, "migrate")
    assert code == 0 and result["left"] == 0
    assert sorted(ids_in(scope.queue_path(paths))) == sorted(ids)


def test_migrate_refuses_without_login_and_names_a_foreign_file(tmp_path: Path) -> None:
    code, result = sync(tmp_path, "migrate")
    assert code == 1 and result["error_code"] == "NOT_LOGGED_IN"
    logged_in()
    runtime().root.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(runtime().root / "queue.db")
    conn.execute("CREATE TABLE queue (id INTEGER PRIMARY KEY, payload TEXT)")
    conn.commit()
    conn.close()
    code, result = sync(tmp_path, "migrate")
    assert code == 1 and "queue.db" in result["error"] and "event_id" in result["error"]


def test_ten_thousand_rows_migrate_exactly(tmp_path: Path) -> None:
    scope = logged_in()
    paths = runtime()
    ids = make_legacy(paths, 10_000)
    code, result = sync(tmp_path, "migrate")
    assert code == 0 and result["moved"] == 10_000
    scoped = ids_in(scope.queue_path(paths))
    assert len(scoped) == 10_000 and set(scoped) == set(ids)


CRASHER = """
import sys
from pathlib import Path
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.boundary.migrate import migrate_legacy
from spec_kitty.sync.scope import current_scope
paths = RuntimePaths(Path(sys.argv[1]))
print("started", flush=True)
migrate_legacy(paths, current_scope(paths), chunk_rows=int(sys.argv[2]))
print("done", flush=True)
"""


def test_kill_9_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    import random

    scope = logged_in()
    paths = runtime()
    ids = make_legacy(paths, 6000)
    rng = random.Random(13)
    kills, mid_way = 0, 0
    for _ in range(20):  # bounded; each run is killed somewhere in its life
        proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(paths.root), "5"],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.08))
        except subprocess.TimeoutExpired:
            proc.kill()
            kills += 1
        proc.wait()
        proc.stdout.close()
        scoped, legacy = ids_in(scope.queue_path(paths)), ids_in(paths.root / "queue.db")
        assert len(scoped) == len(set(scoped))  # never a duplicate
        assert set(scoped) | set(legacy) == set(ids)  # never a loss
        mid_way += bool(scoped and legacy)
        if not legacy:
            break
    assert kills > 0
    code, result = sync(tmp_path, "migrate")
    assert code == 0 and result["left"] == 0
    scoped = ids_in(scope.queue_path(paths))
    assert sorted(scoped) == sorted(ids)
    with EventQueue(scope.queue_path(paths)) as queue:
        assert queue.depth() == 6000  # the exact counter survived the kills


def test_doctor_warns_on_fullness_and_permanent_failures(tmp_path: Path) -> None:
    scope = logged_in()
    paths = runtime()
    paths.config_file.write_text("[sync]\nmax_queue_size = 10\n")
    with EventQueue(scope.queue_path(paths), 10) as queue:
        queue.enqueue([{"event_id": f"e{n}", "event_type": "WPStatusChanged"}
                       for n in range(8)])
        queue.connection.execute("INSERT INTO failures VALUES ('x', 'WPStatusChanged', "
                                 "'schema_mismatch', 'bad', 0, '{}')")
    code, report = sync(tmp_path, "doctor")
    assert code == 1 and report["error_code"] == "SYNC_DOCTOR_FAILED"  # hub unreachable
    by_check = {f["check"]: f for f in report["findings"]}
    assert by_check["queue_fullness"]["severity"] == "warn"
    assert "8 / 10" in by_check["queue_fullness"]["message"]
    assert by_check["queue_fullness"]["fix"] == "Run `spec-kitty sync now`."
    assert by_check["permanent_failures"]["severity"] == "warn"
    assert by_check["hub"]["severity"] == "error" and "unreachable" in by_check["hub"]["message"]
    assert by_check["token"]["severity"] == "warn"  # not verifiable without the hub
    assert all(f["fix"] for f in report["findings"] if f["severity"] == "error")
    text = run_cli(["sync", "doctor"], tmp_path, env=GATE)
    assert text.returncode == 1 and "[ warn] queue_fullness" in text.stdout


@pytest.fixture
def project(initialized_repo: Path) -> Path:
    create(initialized_repo)
    return initialized_repo


def test_setup_plan_refuses_with_the_readiness_message_when_hosted_without_login(
        project: Path) -> None:
    args = ["agent", "mission", "setup-plan", "--mission", "todo-app", "--json"]
    proc = run_cli(args, project, env=GATE)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert '"MISSING_AUTH"' in proc.stdout and "auth login" in proc.stdout
    assert list((project / "kitty-specs").glob("*/plan.md")) == []
    off = run_cli(args, project, env={"SPEC_KITTY_ENABLE_SAAS_SYNC": "0"})
    assert '"MISSING_AUTH"' not in off.stdout  # gate off: the plan gate itself answers
    logged_in()
    on = run_cli(args, project, env=GATE)
    assert '"MISSING_AUTH"' not in on.stdout
