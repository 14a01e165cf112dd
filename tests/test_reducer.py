"""The reducer: unit behaviour and hypothesis properties (order, duplicates, merges)."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from spec_kitty.core.status.events import EventLogError, parse_log, parse_log_strict
from spec_kitty.core.status.log_merge import merge_logs
from spec_kitty.core.status.reducer import reduce_log

LANES = ["planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done",
         "blocked", "canceled"]
WPS = ["WP01", "WP02", "WP03"]
# Few distinct instants so that ties in `at` are common.
STAMPS = [f"2026-11-01T10:00:0{s}.00000{u}+00:00" for s in range(3) for u in range(2)]


def reduce_bytes(data: bytes) -> dict:
    return reduce_log(parse_log_strict(data, "<test>"), mission_slug="m")


def lines_to_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()


@st.composite
def event_rows(draw: st.DrawFn) -> list[dict]:
    count = draw(st.integers(min_value=0, max_value=25))
    rows = []
    for index in range(count):
        wp = draw(st.sampled_from(WPS))
        at = draw(st.sampled_from(STAMPS))
        event_id = f"01K{index:023d}"
        if draw(st.integers(0, 4)) == 0:
            delta = draw(st.sampled_from([
                {"note": f"note {index}"},
                {"subtasks": {f"T00{index % 3}": draw(st.sampled_from(["done", "planned"]))}},
                {"agent": draw(st.sampled_from(["claude", "codex", ""]))},
                {"tracker_refs": [f"GH-{index % 4}"]},
                {"release_runtime_claim": True},
            ]))
            rows.append({"actor": "a", "at": at, "delta": delta, "event_id": event_id,
                         "kind": "annotation", "wp_id": wp})
            continue
        rows.append({
            "actor": draw(st.sampled_from(["claude", {"tool": "codex", "role": "impl",
                                                      "profile": None, "model": None}])),
            "at": at,
            "event_id": event_id,
            "evidence": None,
            "execution_mode": "worktree",
            "force": draw(st.booleans()),
            "from_lane": draw(st.sampled_from(["genesis", *LANES])),
            "mission_slug": "m",
            "policy_metadata": draw(st.sampled_from([None, {"agent": "claude", "shell_pid": 7}])),
            "reason": None,
            "review_ref": draw(st.sampled_from([None, "PR#1"])),
            "to_lane": draw(st.sampled_from(LANES)),
            "wp_id": wp,
        })
    return rows


@settings(max_examples=300, deadline=None)
@given(event_rows(), st.randoms(use_true_random=False))
def test_file_order_never_changes_the_snapshot(rows: list[dict], rnd: random.Random) -> None:
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    assert reduce_bytes(lines_to_bytes(shuffled)) == reduce_bytes(lines_to_bytes(rows))


@settings(max_examples=300, deadline=None)
@given(event_rows(), st.randoms(use_true_random=False))
def test_duplicated_lines_never_change_the_snapshot(rows: list[dict], rnd: random.Random) -> None:
    doubled = rows + [row for row in rows if rnd.random() < 0.5]
    rnd.shuffle(doubled)
    assert reduce_bytes(lines_to_bytes(doubled)) == reduce_bytes(lines_to_bytes(rows))


@settings(max_examples=300, deadline=None)
@given(event_rows(), st.integers(0, 25), st.randoms(use_true_random=False))
def test_merge_driver_equals_reducer_over_union(rows: list[dict], cut: int,
                                                rnd: random.Random) -> None:
    base, rest = rows[:cut], rows[cut:]
    ours = base + [r for r in rest if rnd.random() < 0.5]
    theirs = base + [r for r in rest if r not in ours] + [r for r in ours if rnd.random() < 0.2]
    merged = merge_logs(lines_to_bytes(base), lines_to_bytes(ours), lines_to_bytes(theirs))
    union = {r["event_id"]: r for r in base + ours + theirs}
    assert reduce_bytes(merged) == reduce_bytes(lines_to_bytes(list(union.values())))
    # The driver's output is itself canonical and ordered.
    out_rows = [json.loads(line) for line in merged.decode().splitlines()]
    assert merged == lines_to_bytes(out_rows)
    keys = [(r["at"], r["event_id"]) for r in out_rows]
    assert keys == sorted(keys)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_never_raises_anything_but_a_clear_error(data: bytes) -> None:
    parsed = parse_log(data)
    for problem in parsed.problems:
        assert problem.line >= 1 and problem.message
    try:
        parse_log_strict(data, "log.jsonl")
    except EventLogError as exc:
        assert exc.message.startswith("log.jsonl:")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                          st.dictionaries(st.sampled_from(["event_id", "wp_id", "to_lane",
                                                           "at", "kind", "from_lane",
                                                           "delta", "force"]),
                                          st.one_of(st.text(max_size=6), st.integers(),
                                                    st.none(), st.booleans()))),
                max_size=6))
def test_json_values_of_any_shape_give_line_numbered_problems(values: list) -> None:
    data = "".join(json.dumps(v) + "\n" for v in values).encode()
    parsed = parse_log(data)
    assert len(parsed.transitions) + len(parsed.annotations) + parsed.skipped + len(
        parsed.problems
    ) == len(values)


def test_snapshot_fields_and_claim_sidecar() -> None:
    rows = [
        {"actor": "ci", "at": "2026-11-01T10:00:00+00:00", "event_id": "01K1", "force": False,
         "from_lane": "genesis", "to_lane": "planned", "wp_id": "WP01", "mission_slug": "m"},
        {"actor": "claude", "at": "2026-11-01T10:00:01+00:00", "event_id": "01K2", "force": False,
         "from_lane": "planned", "to_lane": "claimed", "wp_id": "WP01", "mission_slug": "m",
         "policy_metadata": {"agent": "claude", "shell_pid": 99, "shell_pid_created_at": 5.0}},
        {"actor": "ops", "at": "2026-11-01T10:00:02+00:00", "event_id": "01K3", "force": True,
         "from_lane": "claimed", "to_lane": "blocked", "wp_id": "WP01", "mission_slug": "m",
         "reason": "waiting"},
    ]
    snap = reduce_log(parse_log_strict(lines_to_bytes(rows), "x"), mission_slug="m",
                      mission_number=3, mission_type="software-dev")
    assert snap["mission_number"] == "3"
    assert snap["materialized_at"] == "2026-11-01T10:00:02+00:00"
    assert snap["event_count"] == 3 and snap["last_event_id"] == "01K3"
    assert snap["summary"]["blocked"] == 1 and sum(snap["summary"].values()) == 1
    assert snap["work_packages"]["WP01"] == {
        "lane": "blocked", "actor": "ops", "last_transition_at": "2026-11-01T10:00:02+00:00",
        "last_event_id": "01K3", "force_count": 1, "agent": "claude", "shell_pid": 99,
        "shell_pid_created_at": 5.0,
    }


def test_empty_log() -> None:
    snap = reduce_bytes(b"")
    assert snap["event_count"] == 0 and snap["materialized_at"] == ""
    assert snap["last_event_id"] is None and snap["work_packages"] == {}
    assert set(snap["summary"]) == set(LANES) and not any(snap["summary"].values())


@settings(max_examples=300, deadline=None)
@given(event_rows(), st.randoms(use_true_random=False))
def test_streaming_fold_equals_the_in_memory_reducer(rows: list[dict], rnd: random.Random) -> None:
    """Line by line in file order (refolding what arrives out of order) == sort everything.

    Includes repeated event ids with *different* content (first in file order wins).
    """
    from spec_kitty.core.status.events import ANNOTATION, TRANSITION, split_lines
    from spec_kitty.core.status.reducer import LogFold, finish

    extra = []
    for row in rows:
        if rnd.random() < 0.15:
            clash = json.loads(json.dumps(row))
            clash["at"] = rnd.choice(STAMPS)
            clash["wp_id"] = rnd.choice(WPS)
            extra.append(clash)
    rows = rows + extra
    for row in rows:  # keys older logs leave out
        for key in ("from_lane", "force", "actor", "mission_slug"):
            if key in row and "kind" not in row and rnd.random() < 0.1:
                del row[key]
    rnd.shuffle(rows)
    data = lines_to_bytes(rows)
    fold = LogFold()
    problems: list = []
    fold.feed([raw for _, raw, _ in split_lines(data)], 0, problems)
    parsed = parse_log_strict(data, "x")
    again = [(TRANSITION, r) for r in parsed.transitions] + [(ANNOTATION, r)
                                                             for r in parsed.annotations]
    again.sort(key=lambda item: item[1]["_line"])
    streamed = finish(fold, lambda: iter(again)).snapshot(fallback_slug="m")
    assert problems == []
    assert streamed == reduce_log(parsed, mission_slug="m")
