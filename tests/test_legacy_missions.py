"""Missions from older tools: no lanes.json, no meta.json, mission_id only in the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import parse_one_json, run_cli
from missions_fixture import MISSION_ID, event, make_mission, write_log


def _advance(mission_dir: Path, moves: list[tuple[str, str, str]]) -> None:
    log = mission_dir / "status.events.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    for index, (wp, frm, to) in enumerate(moves):
        rows.append(event(wp, frm, to, f"2026-11-02T10:00:{index:02d}+00:00",
                          f"01JE{index:022d}", force=True, reason="legacy"))
    write_log(log, rows)


@pytest.mark.parametrize(("moves", "expected"), [
    # work in progress: the board decides, never specify/plan/tasks
    ([("WP01", "planned", "in_progress")], {"implement", "review"}),
    # everything done: terminal
    ([(wp, "planned", "done") for wp in ("WP01", "WP02", "WP03")], {None}),
])
def test_a_mission_with_progress_but_no_lanes_json_is_not_sent_back(
        initialized_repo: Path, moves: list[tuple[str, str, str]], expected: set) -> None:
    mission = make_mission(initialized_repo)  # no spec.md, plan.md, tasks.md or lanes.json
    _advance(mission.path, moves)
    answer = parse_one_json(run_cli(["next", "--agent", "claude", "--json"],
                                    initialized_repo).stdout)
    assert answer["preview_step"]["action"] in expected, answer
    assert answer["mission_state"] not in ("specify", "plan", "tasks")
    if expected == {None}:
        assert answer["preview_step"]["kind"] == "terminal"
        assert not any("lanes.json" in w for w in answer["warnings"])  # nothing to implement
    else:
        assert any("lanes.json is missing" in w for w in answer["warnings"])


def test_legacy_lane_folders_still_give_titles(initialized_repo: Path) -> None:
    mission = make_mission(initialized_repo)
    done = mission.tasks_dir / "done"
    done.mkdir()
    wp03 = next(mission.tasks_dir.glob("WP03-*.md"))
    wp03.rename(done / wp03.name)
    board = parse_one_json(run_cli(["agent", "tasks", "status", "--json"],
                                   initialized_repo).stdout)
    card = next(c for c in board["work_packages"] if c["id"] == "WP03")
    assert card["title"] == "Docs" and card["file"] == f"tasks/done/{wp03.name}"


def test_a_missing_meta_json_is_a_visible_warning(initialized_repo: Path) -> None:
    mission = make_mission(initialized_repo)
    (mission.path / "meta.json").unlink()
    for args in (["agent", "tasks", "status", "--json"], ["next", "--json"],
                 ["status", "--json"]):
        payload = parse_one_json(run_cli(args, initialized_repo).stdout)
        assert any("meta.json is missing" in w for w in payload["warnings"]), args
        assert MISSION_ID in " ".join(payload["warnings"])  # recovered from the log
    human = run_cli(["status"], initialized_repo)
    assert "meta.json is missing" in human.stderr  # warnings go to stderr
    summary = parse_one_json(run_cli(["status", "--all", "--json"], initialized_repo).stdout)
    assert summary["missions"][0]["warnings"]


@pytest.mark.parametrize("meta_state", ["missing", "without_id"])
def test_no_event_is_written_without_a_recoverable_mission_id(initialized_repo: Path,
                                                             meta_state: str) -> None:
    mission = make_mission(initialized_repo)
    meta = mission.path / "meta.json"
    if meta_state == "missing":
        meta.unlink()
    else:
        data = json.loads(meta.read_text())
        del data["mission_id"]
        meta.write_text(json.dumps(data))
    moved = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed", "--json"],
                    initialized_repo)
    assert moved.returncode == 0, moved.stdout
    last = json.loads(mission.events_file.read_text().splitlines()[-1])
    assert last["to_lane"] == "claimed" and last["mission_id"] == MISSION_ID


def test_the_id_is_recovered_from_lanes_json_when_the_log_has_none(
        initialized_repo: Path) -> None:
    mission = make_mission(initialized_repo, seed=False)
    (mission.path / "meta.json").unlink()
    (mission.path / "lanes.json").write_text(json.dumps({"version": 1, "mission_id": MISSION_ID,
                                                         "lanes": []}))
    rows = [{k: v for k, v in event("WP01", "genesis", "planned", "2026-11-01T10:00:00+00:00",
                                    "01JD0000000000000000000001").items()
             if k != "mission_id"}]
    write_log(mission.events_file, rows)
    assert run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed"],
                   initialized_repo).returncode == 0
    last = json.loads(mission.events_file.read_text().splitlines()[-1])
    assert last["mission_id"] == MISSION_ID
    assert all(json.loads(line).get("mission_id", "x") is not None
               for line in mission.events_file.read_text().splitlines())
