"""Work-package dependency graphs: unknown ids, cycles, order, depth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def unknown_dependencies(graph: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {node: missing for node, deps in graph.items()
            if (missing := sorted(d for d in deps if d not in graph))}


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Each elementary cycle reported once, as a path that returns to its start."""
    cycles: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                key = frozenset(cycle)
                if key not in seen_sets:
                    seen_sets.add(key)
                    cycles.append(cycle)
            elif dep not in state:
                visit(dep)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def topological_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Dependencies first, ties by id; nodes on a cycle are appended in id order."""
    remaining = {node: {d for d in deps if d in graph} for node, deps in graph.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(node for node, deps in remaining.items() if not deps)
        if not ready:
            order.extend(sorted(remaining))
            break
        for node in ready:
            order.append(node)
            del remaining[node]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def ancestors(graph: Mapping[str, Iterable[str]], node: str) -> set[str]:
    """Everything ``node`` depends on, directly or transitively."""
    found: set[str] = set()
    stack = list(graph.get(node, ()))
    while stack:
        dep = stack.pop()
        if dep in found or dep not in graph:
            continue
        found.add(dep)
        stack.extend(graph.get(dep, ()))
    return found


def may_run_in_parallel(graph: Mapping[str, Iterable[str]], a: str, b: str) -> bool:
    return a not in ancestors(graph, b) and b not in ancestors(graph, a)


def depths(graph: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Longest dependency chain below each node (0 for roots); cycles count as 0."""
    result: dict[str, int] = {}
    on_path: set[str] = set()

    def depth(node: str) -> int:
        if node in result:
            return result[node]
        if node in on_path:
            return 0
        on_path.add(node)
        deps = [d for d in graph.get(node, ()) if d in graph]
        value = 1 + max(depth(d) for d in deps) if deps else 0
        on_path.discard(node)
        result[node] = value
        return value

    for node in graph:
        depth(node)
    return result
