"""``agent action implement`` and ``agent action review``: claim, prepare, prompt."""

from __future__ import annotations

from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.ids import agent_matches
from spec_kitty.core.next_step import WPView, next_to_implement, next_to_review, unmet_dependencies
from spec_kitty.repo.lanes_file import lane_for_wp, read_lanes
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages, require_readable
from spec_kitty.services.execution import prompts, workspaces
from spec_kitty.services.status import claims, reviews
from spec_kitty.services.status.status_health import ensure_log_present
from spec_kitty.services.status.transitions import normalize_wp_id

# An implement without a WP id that loses a race for its pick takes the next free one;
# each retry sees the winner's claim, so this bounds retries by the work packages left.
MAX_PICKS = 50


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
                        tuple(wp.dependencies), claims.holder_of(states.get(wp.wp_id, {})),
                        claims.implementer_of(states.get(wp.wp_id, {})))
                 for wp in wps)


def _by_id(wps: list[WorkPackage], wp_id: str) -> WorkPackage:
    wp = next((w for w in wps if w.wp_id == wp_id), None)
    if wp is None:
        known = [w.wp_id for w in wps]
        raise SpecKittyError(
            f"{wp_id} has no work-package file in this mission. Work packages: "
            f"{', '.join(known) or 'none'}.", "WP_NOT_FOUND", details={"known": known})
    return wp


def _nothing(action: str) -> SpecKittyError:
    what = "ready to implement" if action == "implement" else "waiting for review"
    return SpecKittyError(f"No work package is {what}.", "NOTHING_TO_" + action.upper(),
                          hint="`spec-kitty next --json` explains what is blocking.")


def _implement_lock(project: ProjectPaths, mission: Mission) -> Any:
    from filelock import FileLock

    lock_dir = project.lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(lock_dir / f"{mission.slug}.implement.lock"), timeout=300)


def _require_target_branch(project: ProjectPaths, mission: Mission,
                           target: object) -> None:
    """Refuse a claim that auto-commit would record on a branch other than the target.

    Such a claim vanishes from the board as soon as the target branch is checked out
    again, and a second agent could then take the same work package. A detached HEAD
    (no commit is made, the change stays in the working tree) and auto-commit off
    pass.
    """
    from spec_kitty.git import repo as git_repo
    from spec_kitty.services.status.status_commit import auto_commit_enabled

    if not target or not auto_commit_enabled(project):
        return
    current = git_repo.current_branch(project.root)
    if current is None or current == str(target):
        return
    raise SpecKittyError(
        f"The main checkout {project.root} is on branch {current!r}, but {mission.slug}'s "
        f"status lives on its target branch {target!r}: a claim committed on {current!r} "
        f"would vanish when {target!r} is checked out again.",
        "WRONG_BRANCH",
        details={"current_branch": current, "target_branch": str(target)},
        hint=f"Run `git switch {target}` in {project.root}, then retry.")


def _claim(project: ProjectPaths, mission: Mission, manifest: dict[str, Any],
           wps: list[WorkPackage], handle: str | None, agent: str
           ) -> tuple[WorkPackage, workspaces.Workspace, list[str]]:
    """Pick (unless ``handle``), check, prepare the worktree and claim; under the lock."""
    from spec_kitty.git import history

    for _ in range(MAX_PICKS):
        states = event_log.load_snapshot(project, mission)["work_packages"]
        views = _views(wps, states)
        if handle:
            wp = _by_id(wps, normalize_wp_id(handle))
        else:
            choice = next_to_implement(views, agent)
            if choice is None:
                raise _nothing("implement")
            wp = _by_id(wps, choice[0].wp_id)
        # Fail closed: an unreadable WP file has unknown dependencies and owned files.
        require_readable(mission, wp)
        claims.check_implementable(states.get(wp.wp_id, {}), wp.wp_id, agent)
        lanes = {v.wp_id: v.lane for v in views}
        unmet = unmet_dependencies(next(v for v in views if v.wp_id == wp.wp_id), lanes)
        if unmet:
            raise DependenciesNotSatisfied(wp.wp_id, {d: lanes.get(d, "unknown") for d in unmet})
        lane = lane_for_wp(manifest, wp.wp_id)
        if lane is None:
            raise SpecKittyError(f"{wp.wp_id} is in no lane of lanes.json; re-run "
                                 "finalize-tasks.", "LANES_CORRUPT")
        workspace = workspaces.prepare_workspace(project, mission, manifest, lane, wp.wp_id)
        base = history.rev(workspace.path, "HEAD")
        workspaces.write_context(project, mission, workspace, lane, wp.wp_id, base)
        try:
            written = claims.start_implementation(project, mission, wp.wp_id, agent,
                                                  workspace.execution_mode)
        except claims.ClaimConflict:
            if handle:
                raise
            continue  # someone claimed our pick meanwhile (outside `implement`): pick again
        return wp, workspace, written
    raise _nothing("implement")


def implement(project: ProjectPaths, mission: Mission, handle: str | None,
              agent: str) -> dict[str, Any]:
    """Claim a work package (``handle``, or the next ready one), prepare its worktree.

    Two agents running this at once serialise on a per-mission lock; without an id the
    one that comes second takes the next free work package instead of failing.
    """
    ensure_log_present(project, mission)
    manifest = read_lanes(mission)  # fail closed: no lanes, no implementation
    _require_target_branch(project, mission, manifest.get("target_branch")
                           or mission.meta.get("target_branch"))
    wps = load_work_packages(project, mission)
    if handle:  # refuse early, before waiting for the lock
        wp_id = normalize_wp_id(handle)
        _by_id(wps, wp_id)  # a mistyped id is WP_NOT_FOUND, not "not finalized"
        states = event_log.load_snapshot(project, mission)["work_packages"]
        claims.check_implementable(states.get(wp_id, {}), wp_id, agent)
    with _implement_lock(project, mission):
        wp, workspace, written = _claim(project, mission, manifest, wps, handle, agent)
    state = event_log.load_snapshot(project, mission)["work_packages"].get(wp.wp_id, {})
    feedback = reviews.pending_feedback(project, state)
    path, text, _ = prompts.write_prompt(
        project, mission, "implement", agent, wp,
        prompts.StepContext(f"{wp.wp_id} is yours now", feedback))
    return {
        "result": "success", "mission_slug": mission.slug, "mission_id": mission.mission_id,
        "agent": agent, "wp_id": wp.wp_id, "title": wp.title, "lane_id": workspace.lane_id,
        "workspace": workspace.path.name, "workspace_path": str(workspace.path),
        "branch": workspace.branch, "execution_mode": workspace.execution_mode,
        "status": workspace.route, "merged_dependency_lanes": workspace.merged_dependencies,
        "lanes_written": written, "claim": "new" if written else "already yours",
        "review_feedback": feedback, "prompt_file": str(path), "prompt": text,
    }


def review(project: ProjectPaths, mission: Mission, handle: str | None,
           agent: str) -> dict[str, Any]:
    """Take a work package (``handle``, or the next waiting one) into review."""
    ensure_log_present(project, mission)
    _require_target_branch(project, mission, mission.meta.get("target_branch"))
    wps = load_work_packages(project, mission)
    states = event_log.load_snapshot(project, mission)["work_packages"]
    allow_self = claims.self_review_allowed(project)
    if handle:
        wp = _by_id(wps, normalize_wp_id(handle))
    else:
        choice = next_to_review(_views(wps, states), agent, allow_self)
        if choice is None:
            raise _nothing("review")
        wp = _by_id(wps, choice[0].wp_id)
    started = claims.start_review(project, mission, wp.wp_id, agent)
    state = event_log.load_snapshot(project, mission)["work_packages"].get(wp.wp_id, {})
    own = agent_matches(claims.implementer_of(state), agent)
    step = prompts.StepContext(f"{wp.wp_id} is waiting for review",
                               reviews.pending_feedback(project, state), own)
    path, text, values = prompts.write_prompt(project, mission, "review", agent, wp, step)
    lane = lane_for_wp(read_lanes(mission), wp.wp_id) or {"lane_id": workspaces.PLANNING_LANE}
    return {"result": "success", "mission_slug": mission.slug, "wp_id": wp.wp_id,
            "title": wp.title, "review_started": started, "lane_id": lane["lane_id"],
            "self_review": own, "diff_range": values["DIFF_RANGE"],
            "workspace_path": values["WORKSPACE"], "prompt_file": str(path), "prompt": text}
