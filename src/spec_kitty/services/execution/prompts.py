"""The prompt an agent reads for one step, rendered completely and written to disk.

A prompt is ``templates/prompts/_header.md`` plus ``templates/prompts/<action>.md``.
Every ``{{NAME}}`` placeholder of the templates must be filled: a missing value is an
error (``PROMPT_RENDER_FAILED``), never a raw ``{{NAME}}`` in front of an agent.
Values are inserted in one pass, so text from the work package itself (which may
contain braces) is never re-scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.work_packages import WorkPackage

ACTION_TITLES = {"specify": "Specify", "plan": "Plan", "tasks": "Work packages",
                 "implement": "Implement", "review": "Review", "accept": "Accept",
                 "merge": "Merge"}
PLACEHOLDER_RE = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")


def render(text: str, values: dict[str, str], source: str = "prompt") -> str:
    """Fill every ``{{NAME}}``; raises ``PROMPT_RENDER_FAILED`` naming what is missing."""
    missing = sorted({name for name in PLACEHOLDER_RE.findall(text) if name not in values})
    if missing:
        raise SpecKittyError(f"{source}: no value for {', '.join(missing)}",
                             "PROMPT_RENDER_FAILED", details={"missing": missing})
    return PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)


def _read(path: Path) -> str:
    """A WP file's text through the one reading seam (BOM tolerated); "" if unreadable
    (next and implement refuse unreadable WP files before a prompt is written)."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.repo.textio import read_text

    try:
        return read_text(path)
    except SpecKittyError:
        return ""


def wp_template(project: ProjectPaths, mission_type: str) -> str:
    """The work-package file template, as both ``/spec-kitty.tasks`` and ``next`` show it."""
    from spec_kitty.repo import templates

    return templates.resolve(project.root, mission_type, "work-package.md").render(
        {"WP_ID": "WP01", "WP_TITLE": "<title>"}).strip()


@dataclass(frozen=True)
class Workspace:
    lane_id: str
    path: str
    branch: str


def workspace_of(project: ProjectPaths, mission: Mission, wp_id: str) -> Workspace:
    """Where a work package is implemented, from lanes.json."""
    from spec_kitty.repo.lanes_file import lane_for_wp, read_lanes
    from spec_kitty.services.execution import workspaces

    try:
        lane = lane_for_wp(read_lanes(mission), wp_id)
    except SpecKittyError:
        lane = None
    if lane is None or lane["lane_id"] == workspaces.PLANNING_LANE:
        return Workspace(workspaces.PLANNING_LANE, str(project.root),
                         "(the target branch, in the main checkout)")
    lane_id = lane["lane_id"]
    return Workspace(lane_id, str(workspaces.lane_path(project, mission, lane_id)),
                     workspaces.lane_branch(mission, lane_id))


def diff_range(project: ProjectPaths, mission: Mission, wp_id: str) -> tuple[str, str]:
    """(git revision range of the WP's own commits, worktree to run git in)."""
    from spec_kitty.git import history
    from spec_kitty.services.execution import workspaces

    where = workspace_of(project, mission, wp_id)
    if where.lane_id == workspaces.PLANNING_LANE:
        return "HEAD~1..HEAD", str(project.root)
    context = workspaces.read_context(project, mission, where.lane_id)
    base = (context.get("wp_base_commits") or {}).get(wp_id) or history.merge_base(
        project.root, workspaces.mission_branch(mission), where.branch)
    return (f"{base}..{where.branch}" if base else where.branch), where.path


def feedback_section(feedback: dict[str, Any] | None, heading: str) -> str:
    """A markdown section quoting the latest review feedback (or nothing)."""
    if not feedback:
        return ""
    who = feedback.get("reviewer") or "a reviewer"
    when = f" on {feedback['reviewed_at']}" if feedback.get("reviewed_at") else ""
    cycle = f" (review cycle {feedback['cycle_number']})" if feedback.get("cycle_number") else ""
    text = feedback.get("text") or f"(the feedback file {feedback['feedback_path']} is missing)"
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())
    return (f"\n## {heading}\n\n{who} sent this work package back{when}{cycle}; the full "
            f"text is in `{feedback['feedback_path']}`:\n\n{quoted}\n")


def _wp_values(project: ProjectPaths, mission: Mission, wp: WorkPackage) -> dict[str, str]:
    from spec_kitty.repo import frontmatter

    where = workspace_of(project, mission, wp.wp_id)
    body = frontmatter.split(_read(mission.path / wp.file))[1]
    return {
        "WP_ID": wp.wp_id, "WP_TITLE": wp.title, "WP_BODY": body.strip(),
        "LANE_ID": where.lane_id, "WORKSPACE": where.path, "BRANCH": where.branch,
        "DEPENDENCIES": ", ".join(wp.dependencies) or "none",
        "OWNED_FILES": ", ".join(f"`{f}`" for f in wp.owned_files) or "(see the WP file)",
        "SUBTASKS": " ".join(wp.subtasks) or "<T-ids>",
    }


@dataclass
class StepContext:
    """What a step's prompt says beyond the mission and the work package itself."""

    reason: str
    feedback: dict[str, Any] | None = None
    self_review: bool = False


def prompt_text(project: ProjectPaths, mission: Mission, action: str, agent: str,
                wp: WorkPackage | None, step: StepContext) -> tuple[str, dict[str, str]]:
    """The rendered prompt and the values used (``WORKSPACE``, ``DIFF_RANGE``...)."""
    from spec_kitty.repo.package_data import read_package_text

    mission_type = mission.mission_type or "software-dev"
    values = {
        "ACTION": action, "ACTION_TITLE": ACTION_TITLES.get(action, action.title()),
        "AGENT": agent, "MISSION_SLUG": mission.slug, "FRIENDLY_NAME": mission.friendly_name,
        "MISSION_TYPE": mission_type, "FEATURE_DIR": str(mission.path), "REASON": step.reason,
        "SPEC_FILE": str(mission.path / "spec.md"), "PLAN_FILE": str(mission.path / "plan.md"),
        "TASKS_FILE": str(mission.path / "tasks.md"),
    }
    if action == "tasks":
        values["WP_TEMPLATE"] = wp_template(project, mission_type)
    if wp is not None:
        values.update(_wp_values(project, mission, wp))
        values["REVIEW_FEEDBACK"] = feedback_section(
            step.feedback, "Review feedback to address" if action == "implement"
            else "The previous review asked for")
    if action == "review" and wp is not None:
        values["DIFF_RANGE"], values["WORKSPACE"] = diff_range(project, mission, wp.wp_id)
        values["SELF_REVIEW_NOTE"] = (
            f"\n**Self-review:** you implemented {wp.wp_id} yourself. Review it as strictly "
            "as someone else's work, or leave it for another agent.\n"
            if step.self_review else "")
    template = (read_package_text("templates", "prompts", "_header.md") + "\n"
                + read_package_text("templates", "prompts", f"{action}.md"))
    return render(template, values, f"templates/prompts/{action}.md"), values


def write_prompt(project: ProjectPaths, mission: Mission, action: str, agent: str,
                 wp: WorkPackage | None, step: StepContext) -> tuple[Path, str, dict[str, str]]:
    """Render the prompt for one step and write it where the agent can read it."""
    text, values = prompt_text(project, mission, action, agent, wp, step)
    name = f"{agent}-{action}" + (f"-{wp.wp_id}" if wp is not None else "")
    path = project.runtime_dir / "prompts" / mission.slug / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path, text, values
