"""Progress figures for a board: counts per lane and a weighted percentage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from spec_kitty.core.status.lanes import DISPLAY_LANE_VALUES, Lane

# How far along each lane is; canceled work packages leave the denominator.
LANE_WEIGHT: Mapping[str, float] = {
    Lane.PLANNED.value: 0.0,
    Lane.CLAIMED.value: 0.1,
    Lane.IN_PROGRESS.value: 0.3,
    Lane.BLOCKED.value: 0.3,
    Lane.FOR_REVIEW.value: 0.6,
    Lane.IN_REVIEW.value: 0.7,
    Lane.APPROVED.value: 0.9,
    Lane.DONE.value: 1.0,
}

# Shown wherever a weighted percentage is (CLI board, dashboard, hub).
WEIGHTED_NOTE = (
    "weighted progress counts each work package by how far along its lane is ("
    + ", ".join(f"{lane.replace('_', ' ')} {round(weight * 100)}%"
                for lane, weight in LANE_WEIGHT.items())
    + "; canceled ones are left out)"
)


def lane_counts(lanes: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(DISPLAY_LANE_VALUES, 0)
    for lane in lanes:
        if lane in counts:
            counts[lane] += 1
    return counts


def progress(counts: Mapping[str, int]) -> dict[str, Any]:
    active = sum(n for lane, n in counts.items() if lane != Lane.CANCELED.value)
    done = counts.get(Lane.DONE.value, 0)
    weighted = sum(LANE_WEIGHT.get(lane, 0.0) * n for lane, n in counts.items())
    return {
        "total_wps": sum(counts.values()),
        "done_wps": done,
        "approved_wps": counts.get(Lane.APPROVED.value, 0),
        "in_progress_wps": counts.get(Lane.IN_PROGRESS.value, 0)
        + counts.get(Lane.CLAIMED.value, 0),
        "for_review_wps": counts.get(Lane.FOR_REVIEW.value, 0)
        + counts.get(Lane.IN_REVIEW.value, 0),
        "planned_wps": counts.get(Lane.PLANNED.value, 0),
        "progress_percentage": round(100.0 * done / active, 1) if active else 0.0,
        "weighted_percentage": round(100.0 * weighted / active, 1) if active else 0.0,
    }
