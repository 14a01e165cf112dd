"""`spec-kitty status`, validation and bad logs through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import parse_one_json, run_cli
from missions_fixture import event, make_mission, write_log

LOG = "kitty-specs/demo-01JDEMQ0/status.events.jsonl"


@pytest.fixture
def project(initialized_repo: Path) -> Path:
    make_mission(initialized_repo)
    return initialized_repo


def test_board_shows_columns_titles_and_progress(project: Path) -> None:
    run_cli(["agent", "tasks", "move-task", "WP02", "--to", "claimed", "-m", "demo"], project)
    proc = run_cli(["status", "--mission", "demo"], project, env={"COLUMNS": "160"})
    assert proc.returncode == 0, proc.stderr
    for heading in ("Planned (2)", "In progress (1)", "Review (0)", "Approved (0)",
                    "Done (0)"):
        assert heading in proc.stdout
    assert "Storage layer" in proc.stdout and "CLI commands" in proc.stdout
    assert "Progress" in proc.stdout and "0/3 work packages" in proc.stdout
    assert "Blocked" not in proc.stdout  # only shown when something is blocked


def test_status_all_lists_every_mission(project: Path) -> None:
    make_mission(project, slug="other-01JCCCCC", mission_id="01JCCCCC" + "0" * 18,
                 wps={"WP01": {"title": "Only"}})
    proc = run_cli(["status", "--all", "--json"], project)
    data = parse_one_json(proc.stdout)
    assert [m["mission_slug"] for m in data["missions"]] == ["demo-01JDEMQ0", "other-01JCCCCC"]
    assert data["missions"][0]["by_lane"]["planned"] == 3
    human = run_cli(["status", "--all"], project, env={"COLUMNS": "200"})
    assert human.returncode == 0 and "other-01JCCCCC" in human.stdout


BAD_LOGS = {
    "non_object": (b'[1, 2, 3]\n', "expected a JSON object"),
    "unknown_kind": (b'{"kind": "mystery", "event_id": "01K1", "wp_id": "WP01"}\n',
                     "unknown record kind 'mystery'"),
    "invalid_lane": (json.dumps(event("WP01", "planned", "awaiting-review",
                                      "2026-11-01T10:00:00+00:00", "01K1")).encode() + b"\n",
                     "invalid to_lane 'awaiting-review'"),
}


@pytest.mark.parametrize("case", list(BAD_LOGS))
def test_bad_log_is_a_clear_error_with_file_and_line(project: Path, case: str) -> None:
    good = (project / LOG).read_bytes()
    bad, message = BAD_LOGS[case]
    (project / LOG).write_bytes(good + bad)
    line = good.count(b"\n") + 1
    for args in (["agent", "tasks", "status", "-m", "demo", "--json"],
                 ["status", "-m", "demo", "--json"]):
        proc = run_cli(args, project)
        assert proc.returncode == 1
        payload = parse_one_json(proc.stdout)
        assert payload["error_code"] == "EVENT_LOG_INVALID"
        assert f"status.events.jsonl:{line}:" in payload["error"]
        assert message in payload["error"]
        assert payload["line"] == line
    human = run_cli(["status", "-m", "demo"], project)
    assert human.returncode == 1
    assert f"status.events.jsonl:{line}" in human.stderr and "Traceback" not in human.stderr
    assert "Planned" not in human.stdout  # never a board of zeros
    moved = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed", "-m", "demo"],
                    project)
    assert moved.returncode == 1 and (project / LOG).read_bytes() == good + bad


def test_torn_final_line_is_an_unfinished_write_not_an_error(project: Path) -> None:
    good = (project / LOG).read_bytes()
    torn = b'{"at": "2026-11-01T10:00:00+00:00", "event_id": "01K1", "from_lane"'
    run_cli(["agent", "status", "materialize", "-m", "demo"], project)
    (project / LOG).write_bytes(good + torn)
    line = good.count(b"\n") + 1
    for args in (["agent", "tasks", "status", "-m", "demo", "--json"],
                 ["status", "-m", "demo", "--json"]):
        proc = run_cli(args, project)
        assert proc.returncode == 0, proc.stdout
        assert parse_one_json(proc.stdout)["by_lane"]["planned"] == 3
    report = parse_one_json(run_cli(["agent", "status", "validate", "-m", "demo", "--json"],
                                    project).stdout)
    assert report["ok"] is True  # nothing to fix by hand: the next writer cuts it
    assert [(w["code"], w["line"]) for w in report["warnings"]] == [("TORN_TAIL", line)]
    moved = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed", "-m", "demo",
                     "--json"], project)
    assert moved.returncode == 0, moved.stdout
    after = (project / LOG).read_bytes()
    assert after.startswith(good) and torn not in after and after.endswith(b"\n")
    assert after.count(b"\n") == good.count(b"\n") + 1


def test_status_all_reports_unreadable_mission_instead_of_zeros(project: Path) -> None:
    (project / LOG).write_bytes((project / LOG).read_bytes() + b"not json\n")
    proc = run_cli(["status", "--all", "--json"], project)
    assert proc.returncode == 1
    data = parse_one_json(proc.stdout)
    assert data["unreadable"] == ["demo-01JDEMQ0"]
    assert "by_lane" not in data["missions"][0]
    assert "status.events.jsonl:4" in data["missions"][0]["error"]


def test_validate_reports_problems_and_drift(project: Path) -> None:
    ok = run_cli(["agent", "status", "validate", "-m", "demo", "--json"], project)
    assert parse_one_json(ok.stdout)["ok"] is True and ok.returncode == 0
    rows = [json.loads(t) for t in (project / LOG).read_text().splitlines()]
    rows.append(event("WP01", "planned", "done", "2026-11-01T11:00:00+00:00",
                      "01K00000000000000000000099", force=True))
    write_log(project / LOG, rows)
    run_cli(["agent", "status", "materialize", "-m", "demo"], project)
    status_file = project / "kitty-specs/demo-01JDEMQ0/status.json"
    drifted = json.loads(status_file.read_text())
    drifted["summary"]["done"] = 7
    status_file.write_text(json.dumps(drifted))
    proc = run_cli(["agent", "status", "validate", "-m", "demo", "--json"], project)
    assert proc.returncode == 1
    report = parse_one_json(proc.stdout)
    codes = {e["code"] for e in report["errors"]}
    assert codes == {"FORCED_WITHOUT_REASON", "SNAPSHOT_DRIFT"}
    assert next(e for e in report["errors"] if e["code"] == "FORCED_WITHOUT_REASON")["line"] == 4
    run_cli(["agent", "status", "materialize", "-m", "demo"], project)
    after = parse_one_json(run_cli(["agent", "status", "validate", "-m", "demo", "--json"],
                                   project).stdout)
    assert {e["code"] for e in after["errors"]} == {"FORCED_WITHOUT_REASON"}


def test_validate_collects_every_malformed_line(project: Path) -> None:
    extra = b"oops\n" + json.dumps(event("WP01", "planned", "sideways", "2026-11-02T00:00:00Z",
                                         "01K00000000000000000000098")).encode() + b"\n"
    (project / LOG).write_bytes((project / LOG).read_bytes() + extra)
    proc = run_cli(["agent", "status", "validate", "-m", "demo", "--json"], project)
    report = parse_one_json(proc.stdout)
    assert proc.returncode == 1
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(4, "MALFORMED_LINE"),
                                                                  (5, "UNKNOWN_LANE")]
