"""Execution lanes: overlap unions, diamonds, cycles, the planning lane; glob overlap."""

from __future__ import annotations

import pytest

from spec_kitty.core.exec_lanes import LaneInput, compute_lanes, lane_name
from spec_kitty.core.graph import depths, find_cycles, may_run_in_parallel, topological_order
from spec_kitty.core.ownership import overlap


def lanes_by_wp(items: list[LaneInput]) -> dict[str, str]:
    plan = compute_lanes(items)
    return {wp: plan.lane_of(wp) for item in items for wp in [item.wp_id]}


def test_overlapping_files_share_a_lane_and_disjoint_ones_do_not() -> None:
    plan = compute_lanes([
        LaneInput("WP01", owned_files=("src/a/**",)),
        LaneInput("WP02", owned_files=("src/a/models.py",)),
        LaneInput("WP03", owned_files=("src/b/**",)),
    ])
    assert [(lane.lane_id, lane.wp_ids) for lane in plan.lanes] == [
        ("lane-a", ["WP01", "WP02"]), ("lane-b", ["WP03"])]
    assert plan.collapse_events[0]["rule"] == "write_scope_overlap"
    assert plan.lanes[0].write_scope == ["src/a/**", "src/a/models.py"]


def test_diamond_dependencies_become_lane_edges_not_merges() -> None:
    plan = compute_lanes([
        LaneInput("WP01", owned_files=("core/**",)),
        LaneInput("WP02", ("WP01",), ("api/**",)),
        LaneInput("WP03", ("WP01",), ("ui/**",)),
        LaneInput("WP04", ("WP02", "WP03"), ("e2e/**",)),
    ])
    summary = [(lane.lane_id, lane.wp_ids, lane.depends_on_lanes, lane.parallel_group)
               for lane in plan.lanes]
    assert summary == [
        ("lane-a", ["WP01"], [], 0),
        ("lane-b", ["WP02"], ["lane-a"], 1),
        ("lane-c", ["WP03"], ["lane-a"], 1),
        ("lane-d", ["WP04"], ["lane-b", "lane-c"], 2),
    ]
    assert plan.collapse_events == []


def test_lanes_that_would_depend_on_each_other_are_merged() -> None:
    plan = compute_lanes([
        LaneInput("WP01", owned_files=("x/**",)),
        LaneInput("WP02", ("WP01",), ("y/**",)),
        LaneInput("WP03", ("WP02",), ("x/extra.py",)),  # same files as WP01
    ])
    assert [lane.wp_ids for lane in plan.lanes] == [["WP01", "WP02", "WP03"]]
    assert {e["rule"] for e in plan.collapse_events} == {"write_scope_overlap",
                                                        "dependency_cycle"}


def test_planning_artifacts_get_the_planning_lane() -> None:
    plan = compute_lanes([
        LaneInput("WP01", owned_files=("src/**",)),
        LaneInput("WP02", ("WP01",), ("kitty-specs/x/research.md",), "planning_artifact"),
    ])
    assert plan.planning_artifact_wps == ["WP02"]
    assert plan.lane_of("WP02") == "lane-planning"
    assert [lane.wp_ids for lane in plan.lanes] == [["WP01"]]


def test_cycle_detection_and_order() -> None:
    graph = {"WP01": ["WP03"], "WP02": ["WP01"], "WP03": ["WP02"], "WP04": []}
    assert find_cycles(graph) == [["WP01", "WP03", "WP02", "WP01"]]
    assert depths({"a": [], "b": ["a"], "c": ["a", "b"]}) == {"a": 0, "b": 1, "c": 2}
    assert topological_order({"c": ["a", "b"], "b": ["a"], "a": []}) == ["a", "b", "c"]
    assert may_run_in_parallel({"a": [], "b": [], "c": ["a"]}, "a", "b")
    assert not may_run_in_parallel({"a": [], "b": ["c"], "c": ["a"]}, "a", "b")


def test_lane_names_go_past_z() -> None:
    assert [lane_name(i) for i in (0, 25, 26, 27)] == ["lane-a", "lane-z", "lane-aa", "lane-ab"]


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("src/app.py", "src/app.py", True),
    ("src/app.py", "./src//app.py", True),
    ("src", "src/app.py", True),
    ("src/", "src/deep/x.py", True),
    ("src/**", "src/a/b/c.py", True),
    ("src/**/*.py", "src/a/b/c.py", True),
    ("src/*.py", "src/a/b.py", False),
    ("src/**/*.py", "src/app/*.ts", False),
    ("src/**", "tests/**", False),
    ("docs/*.md", "docs/**", True),
    ("a/*/c.py", "a/b/*.py", True),
    ("lib/x.py", "lib/y.py", False),
])
def test_glob_overlap(a: str, b: str, expected: bool) -> None:
    assert overlap(a, b) is expected
    assert overlap(b, a) is expected
