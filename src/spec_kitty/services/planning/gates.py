"""The spec and plan gates: ``agent mission spec-commit`` and ``agent mission setup-plan``.

setup-plan answers ``result: "blocked"`` (with ``error``, ``error_code`` and what is
``missing``; the CLI exits 1, like every blocked answer) until the spec is committed
and substantive and, later, while the plan is half filled in. ``scaffold_only`` right
after plan.md is created is a success (exit 0); ``phase_complete`` says when the plan
is committed.

With hosted sync switched on (the rollout gate) and nobody logged in, setup-plan refuses
with the readiness verdict (``MISSING_AUTH``, exit 1): the plan's evidence (lifecycle
events, documents) would otherwise be recorded for no hub, silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spec_kitty.core import documents
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo import templates
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.missions import META_FILE, Mission
from spec_kitty.repo.paths import ProjectPaths, is_linked_worktree


def _read(path: Path) -> str:
    """spec.md / plan.md text (BOM tolerated); ``FILE_NOT_UTF8`` naming the file."""
    from spec_kitty.repo.textio import read_text

    return read_text(path)


def _rel(project: ProjectPaths, path: Path) -> str:
    return str(path.resolve().relative_to(project.root.resolve()))


def _require_main_checkout(project: ProjectPaths, cwd: Path) -> None:
    if is_linked_worktree(cwd):
        raise SpecKittyError("Run planning commands in the main checkout, not a worktree.",
                             "PLANNING_IN_WORKTREE", hint=f"cd {project.root}")


def spec_commit(project: ProjectPaths, mission: Mission, paths: list[str], message: str | None,
                cwd: Path) -> dict[str, Any]:
    """Commit exactly the named mission files (default: spec.md, meta.json, checklists)."""
    from spec_kitty.git import repo as git_repo

    _require_main_checkout(project, cwd)
    if paths:
        chosen = [Path(p) if Path(p).is_absolute() else (cwd / p) for p in paths]
    else:
        chosen = [mission.path / "spec.md", mission.path / META_FILE]
        scaffold = [mission.events_file, mission.tasks_dir / ".gitkeep",
                    mission.path / "research" / ".gitkeep"]
        chosen += [p for p in scaffold if p.exists()]
        chosen += sorted(p for p in (mission.path / "checklists").glob("*") if p.is_file())
    outside = [str(p) for p in chosen if not p.resolve().is_relative_to(mission.path.resolve())]
    if outside:
        raise SpecKittyError(f"spec-commit only commits files of {mission.slug}; refusing "
                             f"{', '.join(outside)}", "PATH_OUTSIDE_MISSION")
    missing = [str(p) for p in chosen if not p.exists()]
    if missing:
        raise SpecKittyError(f"No such file: {', '.join(missing)}", "FILE_MISSING")
    rel = [_rel(project, p) for p in chosen]
    sha = git_repo.commit_paths(project.root, rel,
                                message or f"docs({mission.slug}): specification")
    return {"result": "success", "mission_slug": mission.slug, "committed": sha is not None,
            "commit_hash": sha, "files": rel}


def spec_state(project: ProjectPaths, mission: Mission) -> dict[str, Any]:
    from spec_kitty.git import repo as git_repo

    spec = mission.path / "spec.md"
    if not spec.exists():
        return {"spec_present": False, "spec_substantive": False, "spec_committed": False}
    return {
        "spec_present": True,
        "spec_substantive": documents.spec_is_substantive(_read(spec)),
        "spec_committed": git_repo.is_committed(project.root, spec.relative_to(project.root)),
    }


def require_login_when_hosted(project: ProjectPaths) -> None:
    """Raise ``NotReady`` (``MISSING_AUTH``) when the gate is on and nobody is logged in."""
    from spec_kitty.hosted import gate

    if not gate.is_enabled():
        return
    from spec_kitty.hosted.readiness import ReadinessState, evaluate_readiness

    verdict = evaluate_readiness(repo_root=project.root)
    if verdict.state is ReadinessState.MISSING_AUTH:
        verdict.raise_unless_ready()


def setup_plan(project: ProjectPaths, mission: Mission, cwd: Path) -> dict[str, Any]:
    from spec_kitty.git import repo as git_repo

    _require_main_checkout(project, cwd)
    require_login_when_hosted(project)
    spec = mission.path / "spec.md"
    plan = mission.path / "plan.md"
    base = {"mission_slug": mission.slug, "spec_file": str(spec), "plan_file": str(plan),
            "feature_dir": str(mission.path)}
    if not spec.exists():
        raise SpecKittyError(f"{spec} does not exist; run the specify step first.",
                             "SPEC_FILE_MISSING")
    state = spec_state(project, mission)
    if not (state["spec_substantive"] and state["spec_committed"]):
        missing = []
        if not state["spec_substantive"]:
            missing.append("spec.md needs at least one functional requirement row "
                           "(| FR-001 | <real title> | ...) with a real title")
        if not state["spec_committed"]:
            missing.append(f"commit spec.md: spec-kitty agent mission spec-commit --mission "
                           f"{mission.slug}")
        return {**base, **state, "result": "blocked", "phase_complete": False,
                "error": "blocked: " + "; ".join(missing),
                "error_code": "SPEC_NOT_SUBSTANTIVE_OR_UNCOMMITTED", "missing": missing}
    if not plan.exists():
        template = templates.resolve(project.root, mission.mission_type or "software-dev",
                                     "plan.md")
        write_text_atomic(plan, template.render(templates.standard_values(
            mission.slug, mission.friendly_name, str(mission.meta.get("purpose_tldr") or ""))))
        return {**base, **state, "result": "success", "scaffold_only": True,
                "phase_complete": False, "plan_substantive": False,
                "plan_template": template.source,
                "next_step": f"Fill in the Technical Context of {plan}, then run setup-plan "
                "again."}
    plan_text = _read(plan)
    problems = documents.plan_problems(plan_text)
    untouched = all(documents.is_placeholder(v)
                    for v in documents.technical_context(plan_text).values())
    if problems and untouched:
        return {**base, **state, "result": "success", "scaffold_only": True,
                "phase_complete": False, "plan_substantive": False,
                "next_step": f"Fill in the Technical Context of {plan}, then run setup-plan "
                "again."}
    if problems:
        return {**base, **state, "result": "blocked", "phase_complete": False,
                "plan_substantive": False, "error_code": "PLAN_NOT_SUBSTANTIVE",
                "error": "blocked: plan.md is not filled in: " + "; ".join(problems),
                "blocked_reason": "; ".join(problems), "missing": problems}
    sha = git_repo.commit_paths(project.root, [_rel(project, plan)],
                                f"docs({mission.slug}): implementation plan")
    return {**base, **state, "result": "success", "scaffold_only": False,
            "phase_complete": True, "plan_substantive": True, "commit_created": sha is not None,
            "commit_hash": sha or git_repo.head_sha(project.root),
            "next_step": "Write tasks.md and the tasks/WPnn-*.md files, then run "
            f"`spec-kitty agent mission finalize-tasks --mission {mission.slug} --json`."}
