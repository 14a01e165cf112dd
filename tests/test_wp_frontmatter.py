"""WP frontmatter read the same way by every reader (board, next, finalize, mark-status)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec_kitty.repo.missions import Mission
from spec_kitty.repo.work_packages import parse_work_package

from helpers import parse_one_json, run_cli
from missions_fixture import event, make_mission, write_log
from planning_helpers import plan_mission, sk


def _write_wp(mission: Mission, wp_id: str, frontmatter: str) -> Path:
    path = next(mission.tasks_dir.glob(f"{wp_id}-*.md"))
    path.write_text(f"---\n{frontmatter.strip()}\n---\n# {wp_id}\n")
    return path


def test_subtasks_as_mappings_count_like_strings(initialized_repo: Path) -> None:
    """The issue's example: `- {id: T001, title: …, status: planned}` showed 0/7 although
    the log marked all seven done."""
    mission = make_mission(initialized_repo)
    items = "\n".join(f"  - {{id: T00{n}, title: Step {n}, status: planned}}"
                      for n in range(1, 8))
    _write_wp(mission, "WP01", f"work_package_id: WP01\ntitle: Storage layer\nsubtasks:\n"
                               f"{items}")
    assert parse_work_package(next(mission.tasks_dir.glob("WP01-*.md")),
                              mission.path).subtasks == [f"T00{n}" for n in range(1, 8)]
    marked = run_cli(["agent", "tasks", "mark-status", *[f"T00{n}" for n in range(1, 8)],
                      "--json"], initialized_repo)
    assert marked.returncode == 0, marked.stdout
    board = parse_one_json(run_cli(["agent", "tasks", "status", "--json"],
                                   initialized_repo).stdout)
    card = next(c for c in board["work_packages"] if c["id"] == "WP01")
    assert (card["subtasks_done"], card["subtasks_total"]) == (7, 7)


def test_a_subtask_entry_without_an_id_is_reported_not_dropped(initialized_repo: Path) -> None:
    mission = make_mission(initialized_repo)
    _write_wp(mission, "WP01", "title: Storage layer\nsubtasks:\n  - T001\n"
                               "  - {title: forgot the id}\n")
    board = parse_one_json(run_cli(["agent", "tasks", "status", "--json"],
                                   initialized_repo).stdout)
    assert any("forgot the id" in p for p in board["problems"]), board["problems"]


@pytest.mark.parametrize(("spelling", "expected"), [
    ('"[]"', []), ("''", []), ('"WP01, WP02"', ["WP01", "WP02"]),
    ("WP1", ["WP01"]), ("[wp01, WP2]", ["WP01", "WP02"]), ('"[WP01]"', ["WP01"]),
])
def test_dependency_spellings_read_the_same_in_every_reader(initialized_repo: Path,
                                                           spelling: str,
                                                           expected: list[str]) -> None:
    mission = make_mission(initialized_repo, wps={
        "WP01": {"title": "One"}, "WP02": {"title": "Two"}, "WP03": {"title": "Three"}})
    _write_wp(mission, "WP03", f"work_package_id: WP03\ntitle: Three\n"
                               f"dependencies: {spelling}")
    board = parse_one_json(run_cli(["agent", "tasks", "status", "--json"],
                                   initialized_repo).stdout)
    card = next(c for c in board["work_packages"] if c["id"] == "WP03")
    assert card["dependencies"] == expected
    rows = [json.loads(line) for line in mission.events_file.read_text().splitlines()]
    rows += [event("WP01", "planned", "claimed", "2026-11-01T11:00:00+00:00",
                   "01JD0000000000000000000020", actor="codex"),
             event("WP02", "planned", "claimed", "2026-11-01T11:00:01+00:00",
                   "01JD0000000000000000000021", actor="codex")]
    write_log(mission.events_file, rows)
    answer = parse_one_json(run_cli(["next", "--agent", "claude", "--json"],
                                    initialized_repo).stdout)
    # WP03 is offered exactly when it has no dependency on the two claimed packages.
    assert (answer["preview_step"]["wp_id"] == "WP03") is (expected == [])


def test_tasks_md_and_frontmatter_disagreeing_on_dependencies_is_reported(
        initialized_repo: Path) -> None:
    mission_dir = plan_mission(initialized_repo)
    slug = mission_dir.name
    wp04 = next((mission_dir / "tasks").glob("WP04-*.md"))
    text = wp04.read_text()
    start = text.index("dependencies:")
    end = text.index("\n", text.index("- WP03", start))
    wp04.write_text(text[:start] + "dependencies: []" + text[end:])
    code, result = sk(initialized_repo, "agent", "mission", "finalize-tasks", "--mission",
                      slug, "--validate-only")
    assert code == 1
    conflict = next(p for p in result["problems"] if p["code"] == "DEPENDENCY_CONFLICT")
    lines = (mission_dir / "tasks.md").read_text().splitlines()
    assert conflict["file"].endswith("tasks.md")
    assert lines[conflict["line"] - 1] == "**Dependencies**: WP03"
    assert "WP04" in conflict["message"] and wp04.name in conflict["message"]


def test_subtasks_only_in_tasks_md_are_a_warning_not_silence(initialized_repo: Path) -> None:
    mission_dir = plan_mission(initialized_repo)
    tasks = mission_dir / "tasks.md"
    tasks.write_text(tasks.read_text().replace("- T005 step", "- T005 step\n* [ ] T006 more"))
    code, result = sk(initialized_repo, "agent", "mission", "finalize-tasks", "--mission",
                      mission_dir.name, "--validate-only")
    assert code == 0, result
    assert any(w["code"] == "SUBTASKS_DIFFER" and "T006" in w["message"]
               for w in result["warnings"])


def test_tasks_md_and_frontmatter_drifting_apart_after_finalize_is_a_warning_everywhere(
        initialized_repo: Path) -> None:
    """finalize-tasks refuses the disagreement; once finalized, a later edit is still said
    out loud by the board (CLI and dashboard alike) and by next, naming both files."""
    from spec_kitty.dashboard.projects import ServedProject
    from spec_kitty.dashboard.readmodel import ProjectReader
    from spec_kitty.repo.paths import ProjectPaths

    mission_dir = plan_mission(initialized_repo)
    slug = mission_dir.name
    wp04 = next((mission_dir / "tasks").glob("WP04-*.md"))
    text = wp04.read_text()
    start = text.index("dependencies:")
    end = text.index("\n", text.index("- WP03", start))
    wp04.write_text(text[:start] + "dependencies: []" + text[end:])
    line = (mission_dir / "tasks.md").read_text().splitlines().index(
        "**Dependencies**: WP03", next(i for i, ln in enumerate(
            (mission_dir / "tasks.md").read_text().splitlines()) if ln.startswith("## WP04"))) + 1
    expected = (f"{mission_dir / 'tasks.md'}:{line}: tasks.md says WP04 depends on WP03, "
                f"but {wp04} says none")
    board = sk(initialized_repo, "agent", "tasks", "status", "--mission", slug)[1]
    answer = sk(initialized_repo, "next", "--agent", "claude", "--mission", slug)[1]
    dashboard = ProjectReader(ServedProject("p", ProjectPaths(initialized_repo))).board(slug)
    for warnings in (board["warnings"], answer["warnings"], dashboard["warnings"]):
        assert [w for w in warnings if w.startswith(expected)], warnings
    human = run_cli(["status", "--mission", slug], initialized_repo, env={"COLUMNS": "200"})
    assert "tasks.md says WP04 depends on WP03" in human.stderr + human.stdout
    wp04.write_text(text)  # agreeing again: no warning
    board = sk(initialized_repo, "agent", "tasks", "status", "--mission", slug)[1]
    assert not [w for w in board["warnings"] if "tasks.md says" in w]


@pytest.mark.parametrize(("name", "declared"), [("WP1-copy.md", "WP1"),
                                                ("WP05-other.md", "wp01")])
def test_two_files_defining_one_work_package_fail_closed_naming_both(
        planned_template: Path, tmp_path: Path, name: str, declared: str) -> None:
    from execution_helpers import clone_template

    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    tasks = repo / "kitty-specs" / slug / "tasks"
    (tasks / name).write_text(f"---\nwork_package_id: {declared}\ntitle: Copy\n"
                              "owned_files: [src/other.py]\n---\n# Copy\n")
    log = repo / "kitty-specs" / slug / "status.events.jsonl"
    before = log.read_bytes()
    code, result = sk(repo, "agent", "action", "implement", "WP01", "--agent", "claude",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "DUPLICATE_WP", result
    assert f"tasks/{name}" in result["error"] and "work_package_id" in result["error"]
    assert result["file"].endswith("tasks/WP01-storage.md")
    assert log.read_bytes() == before  # nothing recorded
    assert not (repo / ".worktrees").exists() or not any((repo / ".worktrees").iterdir())
