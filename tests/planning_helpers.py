"""Drive the planning commands the way an agent would, for tests."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import parse_one_json, run_cli

SPEC_ROWS = ("| FR-001 | Add tasks from the command line | US1 | P1 | Draft |\n"
             "| FR-002 | List open tasks | US1 | P1 | Draft |\n"
             "| FR-003 | Export tasks as JSON | US1 | P2 | Draft |")


def sk(repo: Path, *args: str) -> tuple[int, dict]:
    proc = run_cli([*args, "--json"], repo)
    return proc.returncode, parse_one_json(proc.stdout)


def create(repo: Path, slug: str = "todo-app") -> dict:
    code, result = sk(repo, "agent", "mission", "create", slug, "--friendly-name", "Todo app",
                      "--purpose-tldr", "A small todo CLI")
    assert code == 0, result
    return result


def write_spec(mission_dir: Path) -> None:
    spec = mission_dir / "spec.md"
    text = re.sub(r"^\| FR-001 \|.*$", SPEC_ROWS, spec.read_text(), flags=re.M)
    spec.write_text(text)


def fill_plan(mission_dir: Path) -> None:
    plan = mission_dir / "plan.md"
    text = re.sub(r"^\*\*Language/Version\*\*:.*$", "**Language/Version**: Python 3.12",
                  plan.read_text(), flags=re.M)
    text = re.sub(r"^\*\*Testing\*\*:.*$", "**Testing**: pytest", text, flags=re.M)
    plan.write_text(text)


WPS = {
    "WP01": ("Storage", [], ["FR-001"], ["T001", "T002"], ["src/todo/store.py"]),
    "WP02": ("Listing", [], ["FR-002"], ["T003"], ["src/todo/listing.py"]),
    "WP03": ("Command line", ["WP01", "WP02"], ["FR-001", "FR-002"], ["T004"],
             ["src/todo/cli.py"]),
    "WP04": ("Export", ["WP03"], ["FR-003"], ["T005"], ["src/todo/export.py"]),
}


def write_tasks(mission_dir: Path, wps: dict = WPS) -> None:
    sections = ["# Work Packages\n"]
    for wp_id, (title, deps, refs, subtasks, _owned) in wps.items():
        sections.append(f"## {wp_id}: {title}\n\n**Requirement Refs**: {', '.join(refs)}\n"
                        f"**Dependencies**: {', '.join(deps) or 'none'}\n\n"
                        + "".join(f"- {t} step\n" for t in subtasks))
    (mission_dir / "tasks.md").write_text("\n".join(sections))
    for wp_id, (title, _deps, _refs, _subtasks, owned) in wps.items():
        slug = title.lower().replace(" ", "-")
        (mission_dir / "tasks" / f"{wp_id}-{slug}.md").write_text(
            f"---\nwork_package_id: {wp_id}\ntitle: {title}\n"
            f"owned_files: [{', '.join(owned)}]\n---\n# {wp_id}: {title}\n\nDo it well.\n")


def plan_mission(repo: Path, wps: dict = WPS) -> Path:
    """create → spec → spec-commit → plan → finalize; returns the mission directory."""
    created = create(repo)
    mission_dir = Path(created["feature_dir"])
    slug = created["mission_slug"]
    write_spec(mission_dir)
    assert sk(repo, "agent", "mission", "spec-commit", "--mission", slug)[0] == 0
    sk(repo, "agent", "mission", "setup-plan", "--mission", slug)
    fill_plan(mission_dir)
    assert sk(repo, "agent", "mission", "setup-plan", "--mission", slug)[1]["phase_complete"]
    write_tasks(mission_dir, wps)
    code, result = sk(repo, "agent", "mission", "finalize-tasks", "--mission", slug)
    assert code == 0, result
    return mission_dir
