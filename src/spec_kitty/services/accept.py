"""``spec-kitty accept``: is the mission complete? If so, record the acceptance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec_kitty.core import documents
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo import event_log
from spec_kitty.repo.jsonio import write_json
from spec_kitty.repo.missions import META_FILE, Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.textio import read_text

ACCEPTABLE_LANES = ("approved", "done", "canceled")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def _work_packages(snapshot: dict[str, Any]) -> Check:
    states = snapshot["work_packages"]
    if not states:
        return Check("work_packages", False, "the mission has no work packages on its board")
    pending = {wp: s["lane"] for wp, s in states.items() if s["lane"] not in ACCEPTABLE_LANES}
    if pending:
        listing = ", ".join(f"{wp} ({lane})" for wp, lane in sorted(pending.items()))
        return Check("work_packages", False, f"not approved yet: {listing}")
    return Check("work_packages", True, f"all {len(states)} approved, done or canceled")


def _documents(mission: Mission) -> list[Check]:
    missing = [n for n in ("spec.md", "plan.md", "tasks.md") if not (mission.path / n).exists()]
    checks = [Check("documents", not missing,
                    f"missing: {', '.join(missing)}" if missing else "spec, plan and tasks exist")]
    open_items = []
    for name in ("spec.md", "plan.md", "tasks.md"):
        path = mission.path / name
        if path.exists():
            lines = documents.open_clarifications(read_text(path))
            open_items += [f"{name}:{line}" for line in lines]
    checks.append(Check("clarifications", not open_items,
                        "open [NEEDS CLARIFICATION markers at " + ", ".join(open_items)
                        if open_items else "no open clarification markers"))
    return checks


def _clean_tree(project: ProjectPaths, mission: Mission) -> Check:
    from spec_kitty.git import worktrees

    # Status files change with every move and are committed with the acceptance.
    own = {str(p.relative_to(project.root)) for p in (mission.events_file, mission.snapshot_file)}
    dirty = [p for p in worktrees.dirty_paths(project.root) if p not in own]
    if dirty:
        shown = ", ".join(dirty[:8]) + (" ..." if len(dirty) > 8 else "")
        return Check("clean_tree", False, f"uncommitted changes: {shown}")
    return Check("clean_tree", True, "no uncommitted changes")


def accept(project: ProjectPaths, mission: Mission, actor: str) -> dict[str, Any]:
    from spec_kitty.git import repo as git_repo

    snapshot = event_log.load_snapshot(project, mission)
    checks = [_work_packages(snapshot), *_documents(mission), _clean_tree(project, mission)]
    lanes = {wp: s["lane"] for wp, s in snapshot["work_packages"].items()}
    result: dict[str, Any] = {
        "mission_slug": mission.slug,
        "ok": all(c.ok for c in checks),
        "checks": [c.to_json() for c in checks],
        "failed_checks": [c.to_json() for c in checks if not c.ok],
        "approved_wps": sorted(wp for wp, lane in lanes.items() if lane == "approved"),
        "done_wps": sorted(wp for wp, lane in lanes.items() if lane == "done"),
        "commit_created": False,
        "commit_hash": None,
    }
    if not result["ok"]:
        result["error"] = "acceptance checks failed: " + "; ".join(
            f"{c.name}: {c.detail}" for c in checks if not c.ok)
        result["error_code"] = "ACCEPT_CHECKS_FAILED"
        return result
    meta = dict(mission.meta)
    head = git_repo.head_sha(project.root)
    record = {"accepted_at": utc_now_iso(), "accepted_by": actor, "accepted_from_commit": head}
    meta.update(record)
    meta["acceptance_history"] = [*meta.get("acceptance_history", []), record]
    write_json(mission.path / META_FILE, meta)
    files = [str(p.relative_to(project.root)) for p in
             (mission.path / META_FILE, mission.events_file, mission.snapshot_file)]
    sha = git_repo.commit_paths(project.root, files, f"chore({mission.slug}): accept mission")
    result.update(commit_created=sha is not None, commit_hash=sha, **record)
    return result
