"""Compatibility with logs written by earlier tools: every historical shape in one file."""

from __future__ import annotations

import json

from spec_kitty.core.status.events import parse_log_strict
from spec_kitty.core.status.reducer import reduce_log

MID = "01JABCDEFGHJKMNPQRSTVWXYZ0"


def line(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True) + "\n"


HISTORICAL_LOG = "".join([
    # 1. The original 12-key shape: feature_slug, no policy_metadata, no mission_id;
    #    a forced planned->planned "canonical bootstrap" self-transition, Z timestamp.
    line({"actor": "finalize-tasks", "at": "2026-02-01T09:00:00Z", "event_id": "01KA0000000000000000000001",
          "evidence": None, "execution_mode": "worktree", "feature_slug": "legacy-01JABCDE",
          "force": True, "from_lane": "planned", "reason": "canonical bootstrap",
          "review_ref": None, "to_lane": "planned", "wp_id": "WP01"}),
    # 2. feature_slug + both work_package_id and wp_id + policy_metadata (claim sidecar).
    line({"actor": "claude", "at": "2026-02-01T09:05:00+00:00",
          "event_id": "01KA0000000000000000000002", "evidence": None,
          "execution_mode": "code_change", "feature_slug": "legacy-01JABCDE", "force": False,
          "from_lane": "planned", "policy_metadata": {"agent": "claude", "shell_pid": 4242},
          "reason": None, "review_ref": None, "to_lane": "claimed", "wp_id": "WP01",
          "work_package_id": "WP01"}),
    # 3. mission_slug without mission_id, dict actor, the `doing` alias, microseconds.
    line({"actor": {"model": "opus", "profile": None, "role": "implementer", "tool": "claude"},
          "at": "2026-02-01T09:06:00.123456+00:00", "event_id": "01KA0000000000000000000003",
          "evidence": None, "execution_mode": "unknown", "force": False, "from_lane": "claimed",
          "mission_slug": "legacy-01JABCDE", "policy_metadata": None, "reason": None,
          "review_ref": None, "to_lane": "doing", "wp_id": "WP01"}),
    # 4. A lifecycle envelope: skipped.
    line({"aggregate_id": MID, "aggregate_type": "Mission", "event_id": "01KA0000000000000000000004",
          "event_type": "MissionCreated", "payload": {"mission_slug": "legacy-01JABCDE"},
          "project_slug": "p", "project_uuid": "u", "schema_version": "5.0.0",
          "timestamp": "2026-02-01T08:00:00+00:00"}),
    # 5. An annotation: subtasks and a note.
    line({"actor": "claude", "at": "2026-02-01T09:07:00+00:00", "delta": {
          "note": "started", "subtasks": {"T001": "done"}}, "event_id": "01KA0000000000000000000005",
          "kind": "annotation", "wp_id": "WP01"}),
    # 6. Retrospective rows of both spellings and a decision-point mirror: skipped.
    line({"event_id": "01KA0000000000000000000006", "lamport": 3, "type": "RetrospectiveCaptured",
          "payload": {}}),
    line({"at": "2026-02-01T10:00:00+00:00", "event_id": "01KA0000000000000000000007",
          "event_name": "retrospective.completed", "payload": {}}),
    line({"at": "2026-02-01T09:30:00+00:00", "event_id": "01KA0000000000000000000008",
          "event_type": "DecisionPointOpened", "payload": {"question": "?"}}),
    # 7. Genesis seed, then a claim whose from_lane does not match the replayed lane,
    #    "+00:00" without a fraction.
    line({"actor": "finalize-tasks", "at": "2026-02-01T09:00:01+00:00",
          "event_id": "01KA0000000000000000000009", "evidence": None,
          "execution_mode": "direct_repo", "force": False, "from_lane": "genesis",
          "mission_id": MID, "mission_slug": "legacy-01JABCDE", "policy_metadata": None,
          "reason": None, "review_ref": None, "to_lane": "planned", "wp_id": "WP02"}),
    line({"actor": "codex", "at": "2026-02-01T09:10:00+00:00",
          "event_id": "01KA0000000000000000000010", "evidence": None,
          "execution_mode": "worktree", "force": False, "from_lane": "in_progress",
          "mission_id": MID, "mission_slug": "legacy-01JABCDE", "policy_metadata": None,
          "reason": None, "review_ref": None, "to_lane": "claimed", "wp_id": "WP02"}),
    # 8. A duplicate of line 2 (first wins; counted once).
    line({"actor": "claude", "at": "2026-02-01T09:05:00+00:00",
          "event_id": "01KA0000000000000000000002", "evidence": None,
          "execution_mode": "code_change", "feature_slug": "legacy-01JABCDE", "force": False,
          "from_lane": "planned", "policy_metadata": {"agent": "claude", "shell_pid": 4242},
          "reason": None, "review_ref": None, "to_lane": "claimed", "wp_id": "WP01",
          "work_package_id": "WP01"}),
    # 9. An annotation for a WP with no transitions at all -> uninitialized.
    line({"actor": "ops", "at": "2026-02-01T09:20:00+00:00", "delta": {"assignee": "dana"},
          "event_id": "01KA0000000000000000000011", "kind": "annotation", "wp_id": "WP03"}),
    # 10. Same-instant forward move and review rollback: the rollback wins even though the
    #     forward event sorts later by event_id.
    line({"actor": "r", "at": "2026-02-01T09:40:00+00:00", "event_id": "01KA0000000000000000000012",
          "force": False, "from_lane": "for_review", "mission_slug": "legacy-01JABCDE",
          "to_lane": "in_review", "wp_id": "WP04"}),
    line({"actor": "r", "at": "2026-02-01T09:50:00+00:00", "event_id": "01KA0000000000000000000014",
          "force": False, "from_lane": "in_review", "mission_slug": "legacy-01JABCDE",
          "review_result": {"reference": "R1", "reviewer": "r", "verdict": "approved"},
          "to_lane": "approved", "wp_id": "WP04"}),
    line({"actor": "r", "at": "2026-02-01T09:50:00+00:00", "event_id": "01KA0000000000000000000013",
          "force": False, "from_lane": "in_review", "mission_slug": "legacy-01JABCDE",
          "review_result": {"reference": "R2", "reviewer": "r", "verdict": "changes_requested"},
          "to_lane": "in_progress", "wp_id": "WP04"}),
])


def reduce_text(text: str) -> dict:
    return reduce_log(parse_log_strict(text.encode(), "log"), mission_slug="legacy-01JABCDE")


def test_every_historical_shape_reduces_as_expected() -> None:
    parsed = parse_log_strict(HISTORICAL_LOG.encode(), "log")
    assert parsed.skipped == 4
    assert len(parsed.annotations) == 2
    snap = reduce_log(parsed, mission_slug="legacy-01JABCDE")
    assert snap["event_count"] == 8  # 9 transition lines, one duplicate
    wps = snap["work_packages"]
    assert wps["WP01"] == {
        "lane": "in_progress",
        "actor": "claude",  # a dict actor is shown by its tool
        "last_transition_at": "2026-02-01T09:06:00.123456+00:00",
        "last_event_id": "01KA0000000000000000000003",
        "force_count": 1,
        "agent": "claude",
        "shell_pid": 4242,
        "subtasks": {"T001": "done"},
        "notes": ["started"],
    }
    assert wps["WP02"]["lane"] == "claimed"  # from_lane mismatch is not re-validated
    assert wps["WP03"] == {"lane": "uninitialized", "actor": "ops", "last_transition_at": None,
                           "last_event_id": None, "force_count": 0, "assignee": "dana"}
    assert wps["WP04"]["lane"] == "in_progress"
    assert wps["WP04"]["review_result"]["reference"] == "R2"
    assert snap["summary"] == {"planned": 0, "claimed": 1, "in_progress": 2, "for_review": 0,
                               "in_review": 0, "approved": 0, "done": 0, "blocked": 0,
                               "canceled": 0}
    # The last event in (at, event_id) string order, not in file order.
    assert snap["materialized_at"] == "2026-02-01T09:50:00+00:00"
    assert snap["last_event_id"] == "01KA0000000000000000000014"


def test_timestamps_sort_as_strings_not_as_instants() -> None:
    # "...09:00:00Z" sorts after "...09:00:00.5+00:00" as text, so it is applied last.
    rows = [
        {"at": "2026-02-01T09:00:00Z", "event_id": "01KB1", "from_lane": "planned",
         "to_lane": "blocked", "wp_id": "WP01"},
        {"at": "2026-02-01T09:00:00.500000+00:00", "event_id": "01KB2", "from_lane": "planned",
         "to_lane": "claimed", "wp_id": "WP01"},
    ]
    snap = reduce_text("".join(line(r) for r in rows))
    assert snap["work_packages"]["WP01"]["lane"] == "blocked"


def test_self_transition_and_forced_done_override() -> None:
    rows = [
        {"at": "2026-02-01T09:00:00+00:00", "event_id": "01KC1", "from_lane": "approved",
         "to_lane": "done", "wp_id": "WP01", "force": False},
        {"at": "2026-02-01T09:00:01+00:00", "event_id": "01KC2", "from_lane": "done",
         "to_lane": "done", "wp_id": "WP01", "force": True, "reason": "merge override"},
    ]
    snap = reduce_text("".join(line(r) for r in rows))
    assert snap["work_packages"]["WP01"]["lane"] == "done"
    assert snap["work_packages"]["WP01"]["force_count"] == 1
