"""``agent action implement`` and ``agent action review``: claim, prepare, prompt."""

from __future__ import annotations

from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.next_step import WPView, next_to_implement, next_to_review, unmet_dependencies
from spec_kitty.repo import event_log
from spec_kitty.repo.lanes_file import lane_for_wp, read_lanes
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages, require_readable
from spec_kitty.services import claims, workspaces
from spec_kitty.services.next_loop import write_prompt
from spec_kitty.services.transitions import normalize_wp_id


class DependenciesNotSatisfied(SpecKittyError):
    def __init__(self, wp_id: str, unmet: dict[str, str]) -> None:
        listing = ", ".join(f"{dep} ({lane})" for dep, lane in unmet.items())
        super().__init__(
            f"{wp_id} depends on work that is not approved yet: {listing}.",
            "DEPENDENCIES_NOT_SATISFIED",
            details={"wp_id": wp_id, "unmet_dependencies": unmet},
            hint="Dependencies count once they are approved (or done).")


def _views(wps: list[WorkPackage], states: dict[str, Any]) -> tuple[WPView, ...]:
    return tuple(WPView(wp.wp_id, states.get(wp.wp_id, {}).get("lane", "uninitialized"),
                        tuple(wp.dependencies), claims.holder_of(states.get(wp.wp_id, {})))
                 for wp in wps)


def _pick(handle: str | None, wps: list[WorkPackage], views: tuple[WPView, ...],
          agent: str, action: str) -> WorkPackage:
    if handle:
        wp_id = normalize_wp_id(handle)
    else:
        choice = (next_to_implement(views, agent) or (None, ""))[0] if action == "implement" \
            else next_to_review(views, agent)
        if choice is None:
            what = "ready to implement" if action == "implement" else "waiting for review"
            raise SpecKittyError(f"No work package is {what}.", "NOTHING_TO_" + action.upper(),
                                 hint="`spec-kitty next --json` explains what is blocking.")
        wp_id = choice.wp_id
    wp = next((w for w in wps if w.wp_id == wp_id), None)
    if wp is None:
        raise SpecKittyError(f"{wp_id} has no work-package file in this mission.", "WP_NOT_FOUND",
                             details={"known": [w.wp_id for w in wps]})
    return wp


def _implement_lock(project: ProjectPaths, mission: Mission) -> Any:
    from filelock import FileLock

    lock_dir = project.lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(lock_dir / f"{mission.slug}.implement.lock"), timeout=300)


def implement(project: ProjectPaths, mission: Mission, handle: str | None,
              agent: str) -> dict[str, Any]:
    from spec_kitty.git import history

    manifest = read_lanes(mission)  # fail closed: no lanes, no implementation
    wps = load_work_packages(project, mission)
    states = event_log.load_snapshot(project, mission)["work_packages"]
    views = _views(wps, states)
    wp = require_readable(mission, _pick(handle, wps, views, agent, "implement"))
    claims.check_implementable(states.get(wp.wp_id, {}), wp.wp_id, agent)
    lanes = {v.wp_id: v.lane for v in views}
    unmet = unmet_dependencies(next(v for v in views if v.wp_id == wp.wp_id), lanes)
    if unmet:
        raise DependenciesNotSatisfied(wp.wp_id, {d: lanes.get(d, "unknown") for d in unmet})
    lane = lane_for_wp(manifest, wp.wp_id)
    if lane is None:
        raise SpecKittyError(f"{wp.wp_id} is in no lane of lanes.json; re-run finalize-tasks.",
                             "LANES_CORRUPT")
    # One implement at a time per mission: the loser of a race sees the winner's claim.
    with _implement_lock(project, mission):
        current = event_log.load_snapshot(project, mission)["work_packages"].get(wp.wp_id, {})
        claims.check_implementable(current, wp.wp_id, agent)
        workspace = workspaces.prepare_workspace(project, mission, manifest, lane, wp.wp_id)
        base = history.rev(workspace.path, "HEAD")
        workspaces.write_context(project, mission, workspace, lane, wp.wp_id, base)
        written = claims.start_implementation(project, mission, wp.wp_id, agent,
                                              workspace.execution_mode)
    path, text, _ = write_prompt(project, mission, "implement", agent, wp,
                                 f"{wp.wp_id} is yours now")
    return {
        "result": "success", "mission_slug": mission.slug, "mission_id": mission.mission_id,
        "agent": agent, "wp_id": wp.wp_id, "title": wp.title, "lane_id": workspace.lane_id,
        "workspace": workspace.path.name, "workspace_path": str(workspace.path),
        "branch": workspace.branch, "execution_mode": workspace.execution_mode,
        "status": workspace.route, "merged_dependency_lanes": workspace.merged_dependencies,
        "lanes_written": written, "claim": "new" if written else "already yours",
        "prompt_file": str(path), "prompt": text,
    }


def review(project: ProjectPaths, mission: Mission, handle: str | None,
           agent: str) -> dict[str, Any]:
    from spec_kitty.git import history

    wps = load_work_packages(project, mission)
    states = event_log.load_snapshot(project, mission)["work_packages"]
    wp = _pick(handle, wps, _views(wps, states), agent, "review")
    started = claims.start_review(project, mission, wp.wp_id, agent)
    lane = lane_for_wp(read_lanes(mission), wp.wp_id) or {"lane_id": workspaces.PLANNING_LANE}
    extra: dict[str, str] = {}
    if lane["lane_id"] != workspaces.PLANNING_LANE:
        branch = workspaces.lane_branch(mission, lane["lane_id"])
        context = workspaces.read_context(project, mission, lane["lane_id"])
        base = (context.get("wp_base_commits") or {}).get(wp.wp_id) or history.merge_base(
            project.root, workspaces.mission_branch(mission), branch)
        extra = {"DIFF_RANGE": f"{base}..{branch}" if base else branch,
                 "WORKSPACE": str(workspaces.lane_path(project, mission, lane["lane_id"]))}
    else:
        extra = {"DIFF_RANGE": "HEAD~1..HEAD", "WORKSPACE": str(project.root)}
    path, text, _ = write_prompt(project, mission, "review", agent, wp,
                                 f"{wp.wp_id} is waiting for review", extra)
    return {"result": "success", "mission_slug": mission.slug, "wp_id": wp.wp_id,
            "title": wp.title, "review_started": started, "lane_id": lane["lane_id"],
            "diff_range": extra["DIFF_RANGE"], "workspace_path": extra["WORKSPACE"],
            "prompt_file": str(path), "prompt": text}
