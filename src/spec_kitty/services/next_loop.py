"""``spec-kitty next``: gather the facts, ask the decision engine, write the step's prompt.

Without ``--result`` this only answers a query and writes nothing. With a result the
answer is a real step: its prompt file is written under ``.kittify/runtime/prompts/``
and the outcome the agent reported is appended to ``.kittify/runtime/next/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spec_kitty import __version__
from spec_kitty.core.errors import SpecKittyError, UsageError
from spec_kitty.core.next_step import Decision, MissionFacts, WPView, decide
from spec_kitty.core.progress import progress
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo import event_log, frontmatter
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.lanes_file import lane_for_wp, read_lanes
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import WORKTREES_DIR, ProjectPaths
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages

RESULTS = ("success", "failed", "blocked")
ACTION_TITLES = {"specify": "Specify", "plan": "Plan", "tasks": "Work packages",
                 "implement": "Implement", "review": "Review", "accept": "Accept",
                 "merge": "Merge"}


def _text(path: Path) -> str | None:
    """A planning document's text, None when absent; an unreadable one is an error
    naming it (``FILE_NOT_UTF8``), never "missing" (which would send the agent back)."""
    from spec_kitty.repo.textio import read_text_if_exists

    return read_text_if_exists(path)


def _committed(project: ProjectPaths, path: Path) -> bool:
    from spec_kitty.git import repo as git_repo

    return git_repo.is_committed(project.root, path.relative_to(project.root))


def gather_facts(project: ProjectPaths, mission: Mission,
                 snapshot: dict[str, Any], wps: list[WorkPackage]) -> MissionFacts:
    states = snapshot["work_packages"]
    views = tuple(
        WPView(wp.wp_id, states.get(wp.wp_id, {}).get("lane", "uninitialized"),
               tuple(wp.dependencies),
               states.get(wp.wp_id, {}).get("agent") or states.get(wp.wp_id, {}).get("actor"))
        for wp in wps)
    # Missions from older tools may have board entries without a flat WP file.
    filed = {wp.wp_id for wp in wps}
    views += tuple(WPView(wp_id, state.get("lane", "uninitialized"), (),
                          state.get("agent") or state.get("actor"))
                   for wp_id, state in sorted(states.items()) if wp_id not in filed)
    finalized = bool(views) and (
        # The log shows execution started: never send such a mission back to planning,
        # even without lanes.json (missions from older tools have none).
        execution_started(views)
        or (mission.lanes_file.exists() and all(v.lane != "uninitialized" for v in views)))
    accepted = bool(mission.meta.get("accepted_at"))
    if finalized:
        # Planning gates were passed to get here; skip the git calls they would cost.
        return MissionFacts(True, True, True, True, True, True, True, len(views), True,
                            accepted, views)
    from spec_kitty.core import documents

    spec, plan = mission.path / "spec.md", mission.path / "plan.md"
    spec_text, plan_text = _text(spec), _text(plan)
    return MissionFacts(
        spec_present=spec_text is not None,
        spec_substantive=spec_text is not None and documents.spec_is_substantive(spec_text),
        spec_committed=spec_text is not None and _committed(project, spec),
        plan_present=plan_text is not None,
        plan_substantive=bool(plan_text) and not documents.plan_problems(plan_text or ""),
        plan_committed=plan_text is not None and _committed(project, plan),
        tasks_present=(mission.path / "tasks.md").exists(),
        wp_file_count=len(wps),
        finalized=False,
        accepted=accepted,
        wps=views,
    )


def execution_started(views: tuple[WPView, ...]) -> bool:
    """Whether any work package has moved past ``planned`` on the board."""
    return any(v.lane not in ("planned", "uninitialized") for v in views)


def _warnings(mission: Mission, facts: MissionFacts) -> list[str]:
    found = mission.warnings()
    if facts.finalized and not mission.lanes_file.exists():
        found.append(f"{mission.lanes_file} is missing (a mission from an older tool?); "
                     "implementing needs it: run `spec-kitty agent mission finalize-tasks "
                     f"--mission {mission.slug}`")
    return found


def _workspace(project: ProjectPaths, mission: Mission, wp_id: str) -> tuple[str, str, str]:
    """(lane id, workspace path, branch) of a work package, from lanes.json."""
    try:
        lane = lane_for_wp(read_lanes(mission), wp_id)
    except SpecKittyError:
        lane = None
    if lane is None or lane["lane_id"] == "lane-planning":
        return "lane-planning", str(project.root), "(the target branch, in the main checkout)"
    lane_id = lane["lane_id"]
    path = project.root / WORKTREES_DIR / f"{mission.slug}-{lane_id}"
    return lane_id, str(path), f"kitty/mission-{mission.slug}-{lane_id}"


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _prompt_text(project: ProjectPaths, mission: Mission, action: str, reason: str, agent: str,
                 wp: WorkPackage | None, extra: dict[str, str]) -> tuple[str, dict[str, str]]:
    values = {
        "ACTION": action, "ACTION_TITLE": ACTION_TITLES.get(action, action.title()),
        "AGENT": agent, "MISSION_SLUG": mission.slug, "FRIENDLY_NAME": mission.friendly_name,
        "MISSION_TYPE": mission.mission_type or "software-dev",
        "FEATURE_DIR": str(mission.path), "REASON": reason,
        "SPEC_FILE": str(mission.path / "spec.md"), "PLAN_FILE": str(mission.path / "plan.md"),
        "TASKS_FILE": str(mission.path / "tasks.md"),
    }
    from spec_kitty.repo import templates
    from spec_kitty.repo.package_data import read_package_text

    if action == "tasks":
        values["WP_TEMPLATE"] = templates.resolve(
            project.root, values["MISSION_TYPE"], "work-package.md").render(
            {"WP_ID": "WP01", "WP_TITLE": "<title>"}).strip()
    if wp is not None:
        lane_id, workspace, branch = _workspace(project, mission, wp.wp_id)
        body = frontmatter.split(_text(mission.path / wp.file) or "")[1]
        values.update(
            WP_ID=wp.wp_id, WP_TITLE=wp.title, WP_BODY=body.strip(), LANE_ID=lane_id,
            WORKSPACE=workspace, BRANCH=branch,
            DEPENDENCIES=", ".join(wp.dependencies) or "none",
            OWNED_FILES=", ".join(f"`{f}`" for f in wp.owned_files) or "(see the WP file)",
            SUBTASKS=" ".join(wp.subtasks) or "<T-ids>",
        )
    values.update(extra)
    text = read_package_text("templates", "prompts", "_header.md") + "\n" + read_package_text(
        "templates", "prompts", f"{action}.md")
    return _render(text, values), values


def write_prompt(project: ProjectPaths, mission: Mission, action: str, agent: str,
                 wp: WorkPackage | None, reason: str,
                 extra: dict[str, str] | None = None) -> tuple[Path, str, dict[str, str]]:
    """Render the prompt for one step and write it where the agent can read it."""
    text, values = _prompt_text(project, mission, action, reason, agent, wp, extra or {})
    name = f"{agent}-{action}" + (f"-{wp.wp_id}" if wp is not None else "")
    path = project.runtime_dir / "prompts" / mission.slug / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path, text, values


def _record_result(project: ProjectPaths, mission: Mission, agent: str, result: str) -> None:
    path = project.runtime_dir / "next" / f"{mission.slug}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"at": utc_now_iso(), "agent": agent, "result": result},
                                sort_keys=True) + "\n")


def next_step(project: ProjectPaths, mission: Mission, agent: str | None,
              result: str | None) -> dict[str, Any]:
    if result is not None and result not in RESULTS:
        raise UsageError(f"--result must be one of {', '.join(RESULTS)}")
    if result is not None and not agent:
        raise UsageError("--result needs --agent (who is reporting the result)")
    snapshot = event_log.load_snapshot(project, mission)
    wps = load_work_packages(project, mission)
    facts = gather_facts(project, mission, snapshot, wps)
    decision = decide(facts, agent or "")
    broken = next((w for w in wps if w.wp_id == decision.wp_id and w.problem), None)
    if broken is not None:  # fail closed: its dependencies are unknown
        decision = Decision("blocked", decision.mission_state, decision.action,
                            decision.wp_id, reason=f"{broken.wp_id}'s file cannot be read",
                            guard_failures=[f"{mission.path / broken.file}: {broken.problem}"])
    if result == "blocked":
        decision = Decision("blocked", decision.mission_state, decision.action, decision.wp_id,
                            reason="the agent reported that it is blocked",
                            guard_failures=[f"{agent} reported blocked on "
                                            f"{decision.action or 'this step'}"])
    answer: dict[str, Any] = {
        "kind": decision.kind, "agent": agent, "mission_slug": mission.slug,
        "mission_id": mission.mission_id, "mission_number": mission.mission_number,
        "mission_type": mission.mission_type, "mission_state": decision.mission_state,
        "timestamp": utc_now_iso(), "action": decision.action, "wp_id": decision.wp_id,
        "workspace_path": None, "prompt_file": None, "reason": decision.reason,
        "guard_failures": decision.guard_failures, "progress": progress(snapshot["summary"]),
        "by_lane": snapshot["summary"], "is_query": result is None,
        "warnings": _warnings(mission, facts),
        "spec_kitty_version": __version__,
    }
    if decision.kind == "blocked" and result is not None:
        answer["error"] = f"blocked: {decision.reason}"
        answer["error_code"] = "NEXT_BLOCKED"
    if result is None:
        answer["preview_step"] = {"kind": decision.kind, "action": decision.action,
                                  "wp_id": decision.wp_id}
        answer["kind"] = "query"
        return answer
    _record_result(project, mission, agent or "", result)
    if decision.kind == "step":
        wp = next((w for w in wps if w.wp_id == decision.wp_id), None)
        path, _, values = write_prompt(project, mission, decision.action or "implement",
                                       agent or "", wp, decision.reason)
        answer["prompt_file"] = str(path)
        answer["workspace_path"] = values.get("WORKSPACE")
    return answer
