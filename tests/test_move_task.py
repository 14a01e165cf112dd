"""`agent tasks move-task` / `mark-status` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import git, parse_one_json, run_cli
from missions_fixture import MISSION_ID, make_mission

APPROVAL = json.dumps({"review": {"reviewer": "rev", "verdict": "approved",
                                  "reference": "PR#1"}})


@pytest.fixture
def project(initialized_repo: Path) -> Path:
    make_mission(initialized_repo)
    return initialized_repo


def move(project: Path, *args: str) -> tuple[int, dict]:
    proc = run_cli(["agent", "tasks", "move-task", *args, "--mission", "demo", "--json"],
                   project)
    return proc.returncode, parse_one_json(proc.stdout)


def board(project: Path) -> dict:
    proc = run_cli(["agent", "tasks", "status", "--mission", "demo", "--json"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return parse_one_json(proc.stdout)


def lane_of(project: Path, wp: str) -> str:
    return next(c["lane"] for c in board(project)["work_packages"] if c["id"] == wp)


def log_lines(project: Path) -> list[str]:
    return (project / "kitty-specs/demo-01JDEMQ0/status.events.jsonl").read_text().splitlines()


def test_walk_a_work_package_through_every_lane(project: Path) -> None:
    assert move(project, "WP01", "--to", "claimed", "--actor", "claude")[0] == 0
    assert move(project, "WP01", "--to", "in_progress")[0] == 0
    code, refused = move(project, "WP01", "--to", "for_review")
    assert code == 1 and refused["error_code"] == "TRANSITION_REFUSED"
    # names the open subtasks and the command that records them
    assert "subtasks are not all done: T001, T002 (record them with `spec-kitty agent tasks " \
        "mark-status T001 T002 --status done`)" in refused["guard_failures"], refused
    proc = run_cli(["agent", "tasks", "mark-status", "T001", "T002", "--mission", "demo",
                    "--json"], project)
    assert parse_one_json(proc.stdout)["updated"] == {"WP01": ["T001", "T002"]}
    assert move(project, "WP01", "--to", "for_review", "--note", "ready")[0] == 0
    assert move(project, "WP01", "--to", "in_review", "--actor", "reviewer")[0] == 0
    assert move(project, "WP01", "--to", "approved", "--evidence-json", APPROVAL)[0] == 0
    code, result = move(project, "WP01", "--to", "done", "--evidence-json", APPROVAL)
    assert code == 0 and result["old_lane"] == "approved" and result["new_lane"] == "done"
    data = board(project)
    assert data["by_lane"]["done"] == 1 and data["by_lane"]["planned"] == 2
    assert data["progress_percentage"] == pytest.approx(33.3)
    snapshot = json.loads((project / "kitty-specs/demo-01JDEMQ0/status.json").read_text())
    assert snapshot["work_packages"]["WP01"]["notes"] == ["ready"]
    assert snapshot["work_packages"]["WP01"]["review_result"]["verdict"] == "approved"


def test_lines_are_byte_identical_to_json_dumps_sort_keys(project: Path) -> None:
    move(project, "WP03", "--to", "claimed", "--actor", "Zoë ✓")
    for text in log_lines(project):
        assert text == json.dumps(json.loads(text), sort_keys=True)
    last = json.loads(log_lines(project)[-1])
    assert last["actor"] == "Zoë ✓" and last["mission_id"] == MISSION_ID
    assert set(last) == {"actor", "at", "event_id", "evidence", "execution_mode", "force",
                         "from_lane", "mission_id", "mission_slug", "policy_metadata",
                         "reason", "review_ref", "to_lane", "wp_id"}
    assert "\\u00eb" in log_lines(project)[-1]  # non-ASCII escaped, like json.dumps


def test_forward_jump_becomes_one_hop_per_lane(project: Path) -> None:
    code, result = move(project, "WP03", "--to", "for_review", "--actor", "claude")
    assert code == 0 and len(result["event_ids"]) == 3
    hops = [(json.loads(t)["from_lane"], json.loads(t)["to_lane"]) for t in log_lines(project)[-3:]]
    assert hops == [("planned", "claimed"), ("claimed", "in_progress"),
                    ("in_progress", "for_review")]
    stamps = [json.loads(t)["at"] for t in log_lines(project)[-3:]]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


def test_disallowed_move_lists_allowed_lanes(project: Path) -> None:
    code, result = move(project, "WP02", "--to", "done")
    assert code == 1
    assert "planned" in result["error"]
    code, result = move(project, "WP02", "--to", "blocked")
    code, result = move(project, "WP02", "--to", "approved")
    assert code == 1 and "allowed: canceled, in_progress" in result["error"]


def test_force_requires_a_reason_and_is_counted(project: Path) -> None:
    code, result = move(project, "WP02", "--to", "done", "--force")
    assert code == 1 and "needs a reason" in result["error"]
    assert move(project, "WP02", "--to", "done", "--force", "--reason", "shipped elsewhere")[0] == 0
    card = next(c for c in board(project)["work_packages"] if c["id"] == "WP02")
    assert card["lane"] == "done" and card["force_count"] == 1


def test_same_lane_is_a_no_op(project: Path) -> None:
    before = log_lines(project)
    code, result = move(project, "WP01", "--to", "planned")
    assert code == 0 and result["transition_applied"] is False
    assert log_lines(project) == before


def test_unknown_lane_and_unknown_wp(project: Path) -> None:
    code, result = move(project, "WP01", "--to", "awaiting-review")  # not a lane: usage
    assert code == 2 and result["error_code"] == "USAGE_ERROR"
    assert "awaiting-review" in result["error"] and "in_review" in result["error"]
    code, result = move(project, "WP09", "--to", "claimed")
    assert code == 1 and result["error_code"] == "WP_NOT_FOUND"
    assert result["known"] == ["WP01", "WP02", "WP03"]
    code, result = move(project, "wp1", "--to", "claimed")  # forgiving id spelling
    assert code == 0 and result["wp_id"] == "WP01"


def test_rejection_with_feedback_file(project: Path) -> None:
    move(project, "WP03", "--to", "for_review", "--actor", "claude")
    move(project, "WP03", "--to", "in_review", "--actor", "rev")
    feedback = project / "feedback.md"
    feedback.write_text("Please add tests.\n")
    code, result = move(project, "WP03", "--to", "planned", "--actor", "rev",
                        "--review-feedback-file", str(feedback))
    assert code == 0, result
    row = json.loads(log_lines(project)[-1])
    stored = "kitty-specs/demo-01JDEMQ0/reviews/WP03-cycle-1.md"
    assert row["review_result"] == {"reviewer": "rev", "verdict": "changes_requested",
                                    "reference": f"feedback:{stored}",
                                    "feedback_path": stored}
    assert row["reason"] == "changes requested: Please add tests."
    assert "Please add tests." in (project / stored).read_text()


def test_status_json_rewritten_only_when_bytes_change(project: Path) -> None:
    status = project / "kitty-specs/demo-01JDEMQ0/status.json"
    run_cli(["agent", "status", "materialize", "--mission", "demo"], project)
    first = status.stat().st_mtime_ns
    proc = run_cli(["agent", "status", "materialize", "--mission", "demo", "--json"], project)
    assert parse_one_json(proc.stdout)["missions"][0]["changed"] is False
    assert status.stat().st_mtime_ns == first
    move(project, "WP01", "--to", "claimed")
    assert status.stat().st_mtime_ns != first
    snapshot = json.loads(status.read_text())
    assert snapshot["materialized_at"] == json.loads(log_lines(project)[-1])["at"]
    assert status.read_text().endswith("}\n") and status.read_text().startswith("{\n  ")


def test_writes_from_a_worktree_land_in_the_main_checkout(project: Path) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", "mission")
    worktree = project / ".worktrees" / "demo-lane-a"
    git(project, "worktree", "add", "-q", "-b", "lane-a", str(worktree))
    proc = run_cli(["agent", "tasks", "move-task", "WP01", "--to", "claimed", "--mission",
                    "demo", "--json"], worktree)
    assert proc.returncode == 0, proc.stdout
    main_log = project / "kitty-specs/demo-01JDEMQ0/status.events.jsonl"
    wt_log = worktree / "kitty-specs/demo-01JDEMQ0/status.events.jsonl"
    assert '"to_lane": "claimed"' in main_log.read_text()
    assert '"to_lane": "claimed"' not in wt_log.read_text()
    assert (project / ".git" / "spec-kitty-locks" / "demo-01JDEMQ0.status.lock").exists()


def test_mission_selection(initialized_repo: Path) -> None:
    make_mission(initialized_repo, slug="alpha-01JAAAAA", mission_id="01JAAAAA" + "0" * 18)
    make_mission(initialized_repo, slug="alpine-01JBBBBB", mission_id="01JBBBBB" + "0" * 18)

    def pick(handle: str | None) -> dict:
        args = ["agent", "tasks", "status", "--json"] + (["--mission", handle] if handle else [])
        return parse_one_json(run_cli(args, initialized_repo).stdout)

    assert pick("alpha-01JAAAAA")["mission_slug"] == "alpha-01JAAAAA"
    assert pick("01JBBBBB")["mission_slug"] == "alpine-01JBBBBB"
    assert pick("01JBBBBB" + "0" * 18)["mission_slug"] == "alpine-01JBBBBB"
    assert pick("alph")["mission_slug"] == "alpha-01JAAAAA"
    ambiguous = pick("al")
    assert ambiguous["error_code"] == "MISSION_AMBIGUOUS_SELECTOR"
    assert ambiguous["candidates"] == ["alpha-01JAAAAA", "alpine-01JBBBBB"]
    assert pick("zzz")["error_code"] == "MISSION_NOT_FOUND"
    assert pick(None)["error_code"] == "MISSION_REQUIRED"
