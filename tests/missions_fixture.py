"""Build mission folders on disk the way finalize-tasks leaves them."""

from __future__ import annotations

import json
from pathlib import Path

from spec_kitty.repo.missions import Mission

MISSION_ID = "01JDEMQ0000000000000000000"


def event(wp: str, frm: str | None, to: str, at: str, event_id: str, **extra: object) -> dict:
    row = {
        "actor": "tester",
        "at": at,
        "event_id": event_id,
        "evidence": None,
        "execution_mode": "worktree",
        "force": False,
        "from_lane": frm,
        "mission_id": MISSION_ID,
        "mission_slug": "demo-01JDEMQ0",
        "policy_metadata": None,
        "reason": None,
        "review_ref": None,
        "to_lane": to,
        "wp_id": wp,
    }
    row.update(extra)
    return row


def write_log(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def make_mission(
    root: Path,
    slug: str = "demo-01JDEMQ0",
    wps: dict[str, dict] | None = None,
    seed: bool = True,
    mission_id: str = MISSION_ID,
) -> Mission:
    """A mission with WP files; ``seed`` writes genesis→planned for each WP."""
    wps = wps if wps is not None else {
        "WP01": {"title": "Storage layer", "subtasks": ["T001", "T002"]},
        "WP02": {"title": "CLI commands", "dependencies": ["WP01"]},
        "WP03": {"title": "Docs"},
    }
    mission_dir = root / "kitty-specs" / slug
    (mission_dir / "tasks").mkdir(parents=True, exist_ok=True)
    meta = {
        "created_at": "2026-11-01T10:00:00+00:00",
        "friendly_name": "Demo mission",
        "mission_id": mission_id,
        "mission_number": None,
        "mission_slug": slug,
        "mission_type": "software-dev",
        "slug": slug.rsplit("-", 1)[0],
        "target_branch": "main",
    }
    (mission_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    for wp_id, fields in wps.items():
        lines = ["---", f"work_package_id: {wp_id}", f"title: {fields.get('title', wp_id)}"]
        for key in ("dependencies", "subtasks", "owned_files", "requirement_refs"):
            values = fields.get(key, [])
            lines.append(f"{key}: [{', '.join(values)}]")
        if "execution_mode" in fields:
            lines.append(f"execution_mode: {fields['execution_mode']}")
        lines += ["---", f"# {wp_id}: {fields.get('title', wp_id)}", "", "Do the work.", ""]
        (mission_dir / "tasks" / f"{wp_id}-{wp_id.lower()}.md").write_text("\n".join(lines))
    if seed:
        rows = [
            event(wp_id, "genesis", "planned", f"2026-11-01T10:00:0{i}.000000+00:00",
                  f"01JD{i:022d}")
            for i, wp_id in enumerate(wps)
        ]
        write_log(mission_dir / "status.events.jsonl", rows)
    else:
        (mission_dir / "status.events.jsonl").touch()
    return Mission(mission_dir)
