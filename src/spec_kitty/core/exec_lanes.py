"""Execution lanes: which work packages share one branch and one worktree.

Work packages whose ``owned_files`` overlap are put in one lane (union-find), so two
agents never edit the same files in different worktrees. Dependencies never merge
lanes by themselves: a dependency on a work package in another lane becomes a
``depends_on_lanes`` edge, and ``parallel_group`` is the lane's depth in that lane
graph. Lanes that would depend on each other in a cycle are merged, because their
work has to happen in sequence anyway. ``planning_artifact`` work packages share the
special ``lane-planning`` (no worktree; they run in the main checkout).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from spec_kitty.core.graph import depths, find_cycles, topological_order
from spec_kitty.core.ownership import overlapping_pairs

PLANNING_LANE = "lane-planning"
PLANNING_MODE = "planning_artifact"


@dataclass(frozen=True)
class LaneInput:
    wp_id: str
    dependencies: tuple[str, ...] = ()
    owned_files: tuple[str, ...] = ()
    execution_mode: str = "code_change"


@dataclass
class Lane:
    lane_id: str
    wp_ids: list[str]
    write_scope: list[str]
    depends_on_lanes: list[str] = field(default_factory=list)
    parallel_group: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "lane_id": self.lane_id,
            "wp_ids": self.wp_ids,
            "write_scope": self.write_scope,
            "predicted_surfaces": [],
            "depends_on_lanes": self.depends_on_lanes,
            "parallel_group": self.parallel_group,
        }


@dataclass
class LanePlan:
    lanes: list[Lane]
    planning_artifact_wps: list[str]
    collapse_events: list[dict[str, Any]]

    def lane_of(self, wp_id: str) -> str | None:
        if wp_id in self.planning_artifact_wps:
            return PLANNING_LANE
        return next((lane.lane_id for lane in self.lanes if wp_id in lane.wp_ids), None)

    def collapse_report(self) -> dict[str, Any]:
        by_rule: dict[str, int] = {}
        for event in self.collapse_events:
            by_rule[event["rule"]] = by_rule.get(event["rule"], 0) + 1
        return {"events": self.collapse_events, "total_merges": len(self.collapse_events),
                "by_rule": by_rule}


class _UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: str, b: str) -> bool:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return False
        low, high = sorted((root_a, root_b))
        self.parent[high] = low
        return True

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for item in sorted(self.parent):
            out.setdefault(self.find(item), []).append(item)
        return out


def lane_name(index: int) -> str:
    letters = string.ascii_lowercase
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = letters[rem] + name
    return f"lane-{name}"


def _group_graph(uf: _UnionFind, deps: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {root: set() for root in uf.groups()}
    for wp_id, wp_deps in deps.items():
        for dep in wp_deps:
            if dep in uf.parent and uf.find(dep) != uf.find(wp_id):
                graph[uf.find(wp_id)].add(uf.find(dep))
    return graph


def compute_lanes(items: list[LaneInput]) -> LanePlan:
    planning = sorted(i.wp_id for i in items if i.execution_mode == PLANNING_MODE)
    code = sorted((i for i in items if i.execution_mode != PLANNING_MODE), key=lambda i: i.wp_id)
    uf = _UnionFind([i.wp_id for i in code])
    events: list[dict[str, Any]] = []
    for index, a in enumerate(code):
        for b in code[index + 1 :]:
            pairs = overlapping_pairs(list(a.owned_files), list(b.owned_files))
            if pairs and uf.union(a.wp_id, b.wp_id):
                events.append({"wp_a": a.wp_id, "wp_b": b.wp_id, "rule": "write_scope_overlap",
                               "evidence": [f"{x} ~ {y}" for x, y in pairs[:5]]})
    deps = {i.wp_id: i.dependencies for i in code}
    while cycles := find_cycles(_group_graph(uf, deps)):
        for cycle in cycles:
            for other in cycle[1:]:
                if uf.union(cycle[0], other):
                    events.append({"wp_a": cycle[0], "wp_b": other, "rule": "dependency_cycle",
                                   "evidence": cycle})
    graph = _group_graph(uf, deps)
    group_depth = depths(graph)
    groups = uf.groups()
    names = {root: lane_name(n) for n, root in enumerate(sorted(groups))}
    by_wp = {i.wp_id: i for i in code}
    lanes = []
    for root, members in groups.items():
        inner = {wp: tuple(d for d in by_wp[wp].dependencies if d in members) for wp in members}
        scope = sorted({f for wp in members for f in by_wp[wp].owned_files})
        lanes.append(Lane(
            lane_id=names[root],
            wp_ids=topological_order(inner),
            write_scope=scope,
            depends_on_lanes=sorted(names[dep] for dep in graph[root]),
            parallel_group=group_depth[root],
        ))
    lanes.sort(key=lambda lane: (lane.parallel_group, lane.lane_id))
    return LanePlan(lanes, planning, events)
