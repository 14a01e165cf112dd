"""status.json byte for byte as the published Spec Kitty CLI (3.2.7) writes it.

tests/fixtures/spec_kitty_parity holds realistic mission logs (every row shape the
reference documents) and the status.json the published CLI wrote for each (see its
build.py). Our materialize must write the same bytes, must not create a status.json for
a mission without lane transitions, and validate must find no drift in the committed
snapshots.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import parse_one_json, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "spec_kitty_parity" / "kitty-specs"
MISSIONS = sorted(p.name for p in FIXTURE.iterdir())
WITH_TRANSITIONS = {"legacy-mix-01JPAR1T", "retro-01JPAR1T"}


@pytest.fixture
def repo(initialized_repo: Path) -> Path:
    shutil.copytree(FIXTURE, initialized_repo / "kitty-specs")
    return initialized_repo


def test_fixture_covers_the_documented_shapes() -> None:
    log = (FIXTURE / "legacy-mix-01JPAR1T" / "status.events.jsonl").read_text()
    for marker in ('"feature_slug"', '"work_package_id"', '"tool": "claude"', 'Z"',
                   '"event_type"', '"type": "RetrospectiveCaptured"', '"release_runtime_claim"',
                   '"tracker_refs_replace"', '"review_result"', '"canceled"'):
        assert marker in log, marker
    assert len(MISSIONS) == 4 and set(MISSIONS) >= WITH_TRANSITIONS


@pytest.mark.parametrize("slug", MISSIONS)
def test_materialize_writes_the_reference_bytes(repo: Path, slug: str) -> None:
    mission = repo / "kitty-specs" / slug
    reference = (mission / "status.json").read_bytes()
    (mission / "status.json").unlink()
    proc = run_cli(["agent", "status", "materialize", "-m", slug, "--json"], repo)
    assert proc.returncode == 0, proc.stdout
    if slug in WITH_TRANSITIONS:
        assert (mission / "status.json").read_bytes() == reference
    else:  # no lane events: nothing to materialise
        assert not (mission / "status.json").exists()
        assert json.loads(reference)["mission_slug"] == ""
    # A status.json that is already there is kept exactly as Spec Kitty wrote it.
    (mission / "status.json").write_bytes(reference)
    again = parse_one_json(run_cli(["agent", "status", "materialize", "-m", slug, "--json"],
                                   repo).stdout)
    assert again["missions"][0]["changed"] is False
    assert (mission / "status.json").read_bytes() == reference


def test_validate_finds_no_drift_in_spec_kitty_snapshots(repo: Path) -> None:
    for slug in MISSIONS:
        proc = run_cli(["agent", "status", "validate", "-m", slug, "--json"], repo)
        report = parse_one_json(proc.stdout)
        assert proc.returncode == 0 and report["ok"] is True, report
        codes = {f["code"] for f in report["errors"] + report["warnings"]}
        assert not codes & {"SNAPSHOT_DRIFT", "SNAPSHOT_MISSING", "TORN_TAIL"}, codes


def test_validate_still_reports_real_drift(repo: Path) -> None:
    status = repo / "kitty-specs" / "legacy-mix-01JPAR1T" / "status.json"
    data = json.loads(status.read_text())
    data["work_packages"]["WP02"]["cancellation_reason"] = "something else"
    status.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    report = parse_one_json(run_cli(["agent", "status", "validate", "-m", "legacy-mix-01JPAR1T",
                                     "--json"], repo).stdout)
    assert [e["code"] for e in report["errors"]] == ["SNAPSHOT_DRIFT"]


def test_crlf_and_bom_logs_give_the_same_snapshot_and_stay_crlf(repo: Path) -> None:
    slug = "legacy-mix-01JPAR1T"
    mission = repo / "kitty-specs" / slug
    reference = (mission / "status.json").read_bytes()
    log = mission / "status.events.jsonl"
    log.write_bytes(b"\xef\xbb\xbf" + log.read_bytes().replace(b"\n", b"\r\n"))
    (mission / "status.json").unlink()
    assert run_cli(["agent", "status", "materialize", "-m", slug], repo).returncode == 0
    assert (mission / "status.json").read_bytes() == reference
    report = parse_one_json(run_cli(["agent", "status", "validate", "-m", slug, "--json"],
                                    repo).stdout)
    assert report["ok"] is True
    before = log.read_bytes()
    moved = run_cli(["agent", "tasks", "move-task", "WP04", "--to", "planned", "--force",
                     "--reason", "re-plan", "--actor", "ops", "-m", slug, "--json"], repo)
    assert moved.returncode == 0, moved.stdout
    after = log.read_bytes()
    assert after.startswith(before) and after.endswith(b"\r\n")
    assert after[len(before):].count(b"\r\n") == after[len(before):].count(b"\n") == 1


CORE_WP_KEYS = ("lane", "actor", "last_event_id", "last_transition_at", "force_count")


def _older_release(snapshot: dict) -> dict:
    """The shapes older Spec Kitty releases committed (as in the public repository's own
    kitty-specs/): no mission_number/mission_type, no in_review count, a wall-clock
    materialized_at, mission_slug left empty, no retrospective and only the five core
    keys per work package (no notes, subtasks, role or review slots)."""
    older = {k: v for k, v in snapshot.items()
             if k not in ("mission_number", "mission_type", "retrospective")}
    older["materialized_at"] = "2026-04-07T09:37:45.493954+00:00"
    older["mission_slug"] = ""
    assert older["summary"]["in_review"] == 0
    older["summary"] = {k: v for k, v in older["summary"].items() if k != "in_review"}
    older["work_packages"] = {wp: {k: entry[k] for k in CORE_WP_KEYS}
                              for wp, entry in snapshot["work_packages"].items()}
    return older


def _validate_codes(repo: Path, slug: str, snapshot: dict) -> list[str]:
    status = repo / "kitty-specs" / slug / "status.json"
    status.write_text(json.dumps(snapshot, indent=2, sort_keys=True) + "\n")
    report = parse_one_json(run_cli(["agent", "status", "validate", "-m", slug, "--json"],
                                    repo).stdout)
    # The fixture's log has deliberate replay warnings; only the snapshot's codes count here.
    return [f["code"] for f in report["errors"] + report["warnings"]
            if f["code"].startswith("SNAPSHOT")]


@pytest.mark.parametrize("slug", sorted(WITH_TRANSITIONS))
def test_a_snapshot_from_an_older_release_is_not_drift(repo: Path, slug: str) -> None:
    """Drift means the committed snapshot disagrees with its log, not that an older
    release wrote fewer keys; every value the older file does hold is still compared."""
    reference = json.loads((repo / "kitty-specs" / slug / "status.json").read_text())
    older = _older_release(reference)
    assert _validate_codes(repo, slug, older) == []
    some_wp = sorted(older["work_packages"])[0]
    wrong_lane = json.loads(json.dumps(older))
    wrong_lane["work_packages"][some_wp]["lane"] = "blocked"
    wrong_actor = json.loads(json.dumps(older))
    wrong_actor["work_packages"][some_wp]["actor"] = "someone-else"
    lost_wp = json.loads(json.dumps(older))
    del lost_wp["work_packages"][some_wp]
    wrong_count = {**older, "summary": {**older["summary"], "planned": 7}}
    other_slug = {**older, "mission_slug": "another-mission"}
    fewer_events = {**older, "event_count": older["event_count"] - 1}
    no_summary = {k: v for k, v in older.items() if k != "summary"}
    for broken in (wrong_lane, wrong_actor, lost_wp, wrong_count, other_slug, fewer_events,
                   no_summary):
        assert _validate_codes(repo, slug, broken) == ["SNAPSHOT_DRIFT"]


@pytest.mark.parametrize("slug", sorted(WITH_TRANSITIONS))
def test_a_snapshot_naming_the_mission_feature_slug_is_not_drift(repo: Path, slug: str) -> None:
    """Releases before the mission rename wrote the slug as ``feature_slug`` (and no
    ``mission_slug``); its value is compared with the slug the log folds to."""
    reference = json.loads((repo / "kitty-specs" / slug / "status.json").read_text())
    older = _older_release(reference)
    del older["mission_slug"]
    assert reference["mission_slug"]
    older["feature_slug"] = reference["mission_slug"]
    assert _validate_codes(repo, slug, older) == []
    assert _validate_codes(repo, slug, {**older, "feature_slug": "another-mission"}) == [
        "SNAPSHOT_DRIFT"]


@pytest.mark.parametrize("slug", sorted(WITH_TRANSITIONS))
def test_a_snapshot_keeping_structured_actors_whole_is_not_drift(repo: Path, slug: str) -> None:
    """Some releases copied a structured actor (``{tool, model, profile, role}``) into
    status.json whole; the reference writes its tool. Same actor, so no drift; a
    structured actor naming another tool still is."""
    reference = json.loads((repo / "kitty-specs" / slug / "status.json").read_text())
    older = _older_release(reference)
    some_wp = sorted(older["work_packages"])[0]
    tool = older["work_packages"][some_wp]["actor"]
    assert isinstance(tool, str) and tool
    structured = {"model": "unknown", "profile": "unknown", "role": "unknown", "tool": tool}
    older["work_packages"][some_wp]["actor"] = structured
    assert _validate_codes(repo, slug, older) == []
    older["work_packages"][some_wp]["actor"] = {**structured, "tool": "someone-else"}
    assert _validate_codes(repo, slug, older) == ["SNAPSHOT_DRIFT"]


def test_a_value_the_file_holds_is_still_compared(repo: Path) -> None:
    slug = "legacy-mix-01JPAR1T"
    reference = json.loads((repo / "kitty-specs" / slug / "status.json").read_text())
    reference["work_packages"]["WP04"]["review_result"]["verdict"] = "approved"
    assert _validate_codes(repo, slug, reference) == ["SNAPSHOT_DRIFT"]
    reference = json.loads((repo / "kitty-specs" / slug / "status.json").read_text())
    reference["work_packages"]["WP03"]["notes"] = ["a note the log never had"]
    assert _validate_codes(repo, slug, reference) == ["SNAPSHOT_DRIFT"]
