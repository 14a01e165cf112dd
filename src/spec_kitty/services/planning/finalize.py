"""``agent mission finalize-tasks``: check the work-package plan, then make it official.

Every problem is collected (with file and line) before anything is written, so an
author fixes them all in one pass. A real run then fills missing frontmatter fields,
seeds each new work package with a ``genesis → planned`` event, writes lanes.json and
commits the lot. ``--validate-only`` stops after the checks and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spec_kitty.core import ids
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.exec_lanes import PLANNING_MODE, LanePlan
from spec_kitty.core.status.lanes import Lane
from spec_kitty.repo import frontmatter
from spec_kitty.repo.lanes_file import VERSION as LANES_VERSION
from spec_kitty.repo.lanes_file import write_lanes
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths, is_linked_worktree
from spec_kitty.repo.status import event_log
from spec_kitty.services.planning.finalize_checks import Plan, Problem, WPDoc, build_plan
from spec_kitty.services.status import events_factory, status_observers

BOOTSTRAP_FIELDS = ("dependencies", "requirement_refs", "subtasks", "execution_mode")

__all__ = ["FinalizeFailed", "Plan", "Problem", "build_plan", "finalize_tasks"]


class FinalizeFailed(SpecKittyError):
    """``details``: ``problems`` (root causes first), ``first`` (the root cause to fix
    first), ``warnings``."""

    def __init__(self, problems: list[Problem], warnings: list[Problem]) -> None:
        first = problems[0]
        super().__init__(
            f"finalize-tasks found {len(problems)} problem(s); first: "
            f"{first.file}:{first.line}: {first.message}",
            "FINALIZE_VALIDATION_FAILED",
            details={"file": first.file, "line": first.line, "first": first.to_json(),
                     "problems": [p.to_json() for p in problems],
                     "warnings": [w.to_json() for w in warnings]},
        )


def _rel(project: ProjectPaths, path: Path) -> str:
    return str(path.relative_to(project.root))


def _bootstrap(doc: WPDoc, target_branch: str) -> bool:
    """Fill missing frontmatter fields in memory; returns whether anything changed."""
    values = {"dependencies": doc.dependencies, "requirement_refs": doc.requirement_refs,
              "subtasks": doc.subtasks, "execution_mode": doc.execution_mode}
    changed = False
    raw = doc.meta.get("dependencies")
    if "dependencies" in doc.meta and raw != doc.dependencies and \
            not ids.parse_wp_list(raw).invalid:
        doc.meta["dependencies"] = doc.dependencies  # "[]", "WP1, WP2" → a canonical list
        changed = True
    for key in BOOTSTRAP_FIELDS:
        if key not in doc.meta or (not doc.meta[key] and values[key]):
            doc.meta[key] = values[key]
            changed = True
    if "work_package_id" not in doc.meta:
        doc.meta.insert(0, "work_package_id", doc.wp_id)
        changed = True
    if doc.meta.get("merge_target_branch") != target_branch:
        doc.meta["merge_target_branch"] = target_branch
        changed = True
    return changed


def lanes_manifest(mission: Mission, lanes: LanePlan, target: str,
                   planning_sha: str | None) -> dict[str, Any]:
    from spec_kitty.repo.config import utc_now_iso

    return {
        "version": LANES_VERSION,
        "mission_slug": mission.slug,
        "mission_id": mission.mission_id,
        "mission_branch": f"kitty/mission-{mission.slug}",
        "target_branch": target,
        "lanes": [lane.to_json() for lane in lanes.lanes],
        "computed_at": utc_now_iso(),
        "computed_from": "dependency_graph+ownership",
        "planning_artifact_wps": lanes.planning_artifact_wps,
        "collapse_report": lanes.collapse_report(),
        "planning_commit_sha": planning_sha,
    }


def _summary(plan: Plan) -> dict[str, Any]:
    assert plan.lanes is not None
    return {
        "wp_count": len(plan.wps),
        "dependencies_parsed": {d.wp_id: d.dependencies for d in plan.wps},
        "warnings": [w.to_json() for w in plan.warnings],
        "requirement_refs_parsed": {d.wp_id: d.requirement_refs for d in plan.wps},
        "lanes": {"computed": True, "count": len(plan.lanes.lanes),
                  "lane_ids": [lane.lane_id for lane in plan.lanes.lanes],
                  "planning_artifact_wps": plan.lanes.planning_artifact_wps,
                  "collapse_report": plan.lanes.collapse_report(),
                  "preview": [lane.to_json() for lane in plan.lanes.lanes]},
    }


def _seed_events(project: ProjectPaths, mission: Mission,
                 plan: Plan) -> tuple[list[str], list[str]]:
    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        snapshot = event_log.snapshot_of(mission, parsed)
        known = snapshot["work_packages"]
        new = [d for d in plan.wps if known.get(d.wp_id, {}).get("lane", "uninitialized")
               == Lane.UNINITIALIZED.value]
        stamps = events_factory.stamps_after(parsed, len(new))
        rows = [events_factory.transition_row(
            mission, wp_id=d.wp_id, from_lane=Lane.GENESIS, to_lane=Lane.PLANNED, at=at,
            actor="finalize-tasks",
            execution_mode="direct_repo" if d.execution_mode == PLANNING_MODE else "worktree")
            for d, at in zip(new, stamps, strict=False)]
        if rows:
            event_log.append_rows(mission, rows, project)
            status_observers.notify(project.root, mission.slug, rows)
        event_log.materialize(project, mission)
    seeded = [d.wp_id for d in new]
    return seeded, [d.wp_id for d in plan.wps if d.wp_id not in seeded]


def finalize_tasks(project: ProjectPaths, mission: Mission, cwd: Path,
                   validate_only: bool = False) -> dict[str, Any]:
    from spec_kitty.git import repo as git_repo

    if is_linked_worktree(cwd):
        raise SpecKittyError("Run finalize-tasks in the main checkout, not a worktree.",
                             "PLANNING_IN_WORKTREE", hint=f"cd {project.root}")
    from spec_kitty.services.status.status_health import ensure_log_present

    ensure_log_present(project, mission)  # never re-seed a board whose log was deleted
    plan = build_plan(project, mission)
    if plan.problems:
        raise FinalizeFailed(plan.problems, plan.warnings)
    target = str(mission.meta.get("target_branch") or git_repo.current_branch(project.root))
    would_modify = [d.rel for d in plan.wps if _bootstrap(d, target)]
    if validate_only:
        return {"result": "validation_passed", "mission_slug": mission.slug,
                "would_modify": would_modify, **_summary(plan)}
    branch = git_repo.current_branch(project.root)
    if branch != target:
        raise SpecKittyError(
            f"finalize-tasks commits to the mission's target branch {target!r}, but "
            f"{branch or 'a detached HEAD'} is checked out.",
            "TARGET_BRANCH_MISMATCH", hint=f"git checkout {target}")
    for doc in plan.wps:
        if doc.rel in would_modify:
            from spec_kitty.repo.atomic import write_text_atomic

            write_text_atomic(doc.path, frontmatter.dump(doc.meta, doc.body))
    seeded, already = _seed_events(project, mission, plan)
    assert plan.lanes is not None
    write_lanes(mission, lanes_manifest(mission, plan.lanes, target,
                                        git_repo.head_sha(project.root)))
    files = [_rel(project, mission.path / "tasks.md"), *[d.rel for d in plan.wps],
             _rel(project, mission.events_file), _rel(project, mission.snapshot_file),
             _rel(project, mission.lanes_file)]
    sha = git_repo.commit_paths(project.root, files,
                                f"chore({mission.slug}): finalize work packages")
    status_observers.notify_mission(project.root, mission.slug)  # WPCreated
    return {
        "result": "success",
        "mission_slug": mission.slug,
        "updated_wp_count": len(would_modify),
        "modified_wps": would_modify,
        "unchanged_wps": [d.rel for d in plan.wps if d.rel not in would_modify],
        "tasks_dir": str(mission.tasks_dir),
        "commit_created": sha is not None,
        "commit_hash": sha or git_repo.head_sha(project.root),
        "files_committed": files if sha else [],
        "bootstrap": {"total_wps": len(plan.wps), "newly_seeded": seeded,
                      "already_initialized": already},
        **_summary(plan),
    }
