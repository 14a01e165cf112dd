"""``spec-kitty accept``: is the mission complete? If so, record the acceptance.

Idempotent: once accepted, running it again answers ``already_accepted`` with the
acceptance commit and writes nothing, as long as no work package moved since
(other than to ``done``, which is merge bookkeeping). A reopened work package makes
the old acceptance stale, and accept checks and records again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.core import documents
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo.jsonio import write_json
from spec_kitty.repo.missions import META_FILE, Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
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


def _own_paths(project: ProjectPaths, mission: Mission) -> list[Path]:
    """Files spec-kitty writes as it goes, committed with the acceptance if still dirty."""
    from spec_kitty.services.status.reviews import reviews_dir

    return [mission.events_file, mission.snapshot_file,
            *sorted(p for p in reviews_dir(mission).glob("*.md") if p.is_file())]


def _clean_tree(project: ProjectPaths, mission: Mission) -> Check:
    from spec_kitty.git import worktrees

    own = {str(p.relative_to(project.root)) for p in _own_paths(project, mission)}
    dirty = [p for p in worktrees.dirty_paths(project.root) if p not in own]
    if dirty:
        shown = ", ".join(dirty[:8]) + (" ..." if len(dirty) > 8 else "")
        return Check("clean_tree", False, f"uncommitted changes: {shown}; commit or remove them "
                     "(git status), then accept again")
    return Check("clean_tree", True, "no uncommitted changes")


def _moves_since(mission: Mission, meta: dict[str, Any]) -> list[str]:
    """Transitions recorded after the acceptance, other than merge's moves to done."""
    from spec_kitty.core.status.reducer import dedupe, replay_key
    from spec_kitty.core.timestamps import parse_at

    rows = sorted(dedupe(event_log.read_log(mission).transitions), key=replay_key)
    ids = [row["event_id"] for row in rows]
    marker = meta.get("accepted_event_id")
    if marker in ids:
        later = rows[ids.index(marker) + 1:]
    else:
        cutoff = parse_at(str(meta.get("accepted_at")))
        later = [r for r in rows if cutoff is None or (parse_at(r["at"]) or cutoff) > cutoff]
    return [f"{r['wp_id']} {r['from_lane']} → {r['to_lane']}" for r in later
            if r["to_lane"] != "done"]


def _acceptance_commit(project: ProjectPaths, mission: Mission) -> str | None:
    from spec_kitty.git import runner

    rel = str((mission.path / META_FILE).relative_to(project.root))
    proc = runner.run(["log", "-1", "--format=%H", "--fixed-strings",
                       f"--grep=chore({mission.slug}): accept mission", "--", rel],
                      project.root, check=False)
    return proc.stdout.strip() or None


def _already_accepted(project: ProjectPaths, mission: Mission) -> dict[str, Any] | None:
    meta = mission.meta
    if not meta.get("accepted_at") or _moves_since(mission, meta):
        return None
    sha = _acceptance_commit(project, mission) or meta.get("accepted_from_commit")
    return {
        "result": "already_accepted", "mission_slug": mission.slug, "ok": True,
        "already_accepted": True, "checks": [], "failed_checks": [],
        "accepted_at": meta.get("accepted_at"), "accepted_by": meta.get("accepted_by"),
        "accept_commit": sha, "commit_created": False, "commit_hash": None,
        "message": f"{mission.slug} is already accepted at {str(sha)[:12]}; nothing was "
        "written.",
    }


def accept(project: ProjectPaths, mission: Mission, actor: str) -> dict[str, Any]:
    """Check the mission and, if every check passes, record the acceptance in meta.json.

    Returns the JSON answer (``ok``, ``checks``, ``failed_checks``...; with ``error`` and
    ``error_code: ACCEPT_CHECKS_FAILED`` when a check fails, nothing written then).
    """
    from spec_kitty.git import repo as git_repo
    from spec_kitty.services.status.status_commit import commit_status
    from spec_kitty.services.status.status_health import ensure_log_present

    ensure_log_present(project, mission)
    already = _already_accepted(project, mission)
    if already is not None:
        return already
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
    record = {"accepted_at": utc_now_iso(), "accepted_by": actor, "accepted_from_commit": head,
              "accepted_event_id": snapshot["last_event_id"]}
    meta.update(record)
    meta["acceptance_history"] = [*meta.get("acceptance_history", []), record]
    write_json(mission.path / META_FILE, meta)
    commit = commit_status(project, mission, f"chore({mission.slug}): accept mission",
                           [mission.path / META_FILE, *_own_paths(project, mission)[2:]],
                           required=True)
    result.update(result="success", commit_created=commit.committed, commit_hash=commit.sha,
                  accept_commit=commit.sha, **record)
    from spec_kitty.services.status import status_observers

    status_observers.notify_mission(project.root, mission.slug)  # MissionAccepted
    return result
