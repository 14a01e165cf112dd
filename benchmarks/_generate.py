"""Synthetic projects for the benchmarks, in the on-disk format real repositories use."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CYCLE = ["claimed", "in_progress", "for_review", "in_review", "planned"]


def ulid(rng: random.Random) -> str:
    return "01K" + "".join(rng.choice(CROCKFORD) for _ in range(23))


def make_project(root: Path) -> Path:
    (root / ".kittify").mkdir(parents=True, exist_ok=True)
    (root / ".kittify" / "config.yaml").write_text(
        "vcs:\n  type: git\nagents:\n  available: [claude]\n"
    )
    return root


def make_mission(root: Path, index: int, wp_count: int, event_count: int,
                 rng: random.Random) -> Path:
    mission_id = ulid(rng)
    slug = f"mission-{index:03d}-{mission_id[:8]}"
    mission_dir = root / "kitty-specs" / slug
    (mission_dir / "tasks").mkdir(parents=True)
    meta = {"created_at": "2026-01-01T00:00:00+00:00", "friendly_name": f"Mission {index}",
            "mission_id": mission_id, "mission_number": None, "mission_slug": slug,
            "mission_type": "software-dev", "slug": slug.rsplit("-", 1)[0],
            "target_branch": "main"}
    (mission_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    wps = [f"WP{n:02d}" for n in range(1, wp_count + 1)]
    for n, wp in enumerate(wps):
        deps = f"[{wps[n - 1]}]" if n % 5 else "[]"
        (mission_dir / "tasks" / f"{wp}-work-package-{n + 1}.md").write_text(
            f"---\nwork_package_id: {wp}\ntitle: Work package number {n + 1}\n"
            f"dependencies: {deps}\nsubtasks: [T{n * 2 + 1:03d}, T{n * 2 + 2:03d}]\n"
            f"owned_files: [src/module_{n}/**]\nexecution_mode: code_change\n---\n"
            f"# {wp}\n\nImplement module {n}.\n"
        )
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    lanes = dict.fromkeys(wps, "genesis")
    rows: list[str] = []
    log = (mission_dir / "status.events.jsonl").open("w")
    for n in range(event_count):
        wp = wps[n % len(wps)]
        previous = lanes[wp]
        if previous == "genesis":
            target = "planned"
        else:
            target = CYCLE[(CYCLE.index(previous) + 1) % len(CYCLE)] if previous in CYCLE \
                else "claimed"
        moment += timedelta(seconds=1, microseconds=rng.randrange(1_000_000))
        review = {"reference": f"review-{n}", "reviewer": "reviewer-bot",
                  "verdict": "changes_requested"} if previous == "in_review" else None
        row = {"actor": rng.choice(["claude", "codex", "gemini"]), "at": moment.isoformat(),
               "event_id": ulid(rng), "evidence": None, "execution_mode": "worktree",
               "force": target == "planned" and previous == "in_review",
               "from_lane": previous, "mission_id": mission_id, "mission_slug": slug,
               "policy_metadata": {"agent": "claude", "shell_pid": 4242} if target == "claimed"
               else None,
               "reason": "review requested changes" if previous == "in_review" else None,
               "review_ref": review["reference"] if review else None,
               "to_lane": target, "wp_id": wp}
        if review:
            row["review_result"] = review
        rows.append(json.dumps(row, sort_keys=True) + "\n")
        lanes[wp] = target
        if len(rows) == 10_000:  # a million events need not sit in memory at once
            log.write("".join(rows))
            rows.clear()
    log.write("".join(rows))
    log.close()
    lanes = [{"lane_id": f"lane-{n}", "wp_ids": [wp], "write_scope": [f"src/module_{n}/**"],
              "predicted_surfaces": [], "depends_on_lanes": [], "parallel_group": 0}
             for n, wp in enumerate(wps)]
    manifest = {"version": 1, "mission_slug": slug, "mission_id": mission_id,
                "mission_branch": f"kitty/mission-{slug}", "target_branch": "main",
                "lanes": lanes, "computed_at": "2026-01-01T00:00:00+00:00",
                "computed_from": "dependency_graph+ownership", "planning_artifact_wps": [],
                "planning_commit_sha": None}
    (mission_dir / "lanes.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return mission_dir
