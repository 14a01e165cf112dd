"""What the scripted agent "knows": the documents and code a real agent would write.

No language model is involved; every document is fixed text, so the demo is repeatable.
Nothing here says which spec-kitty command to run: that comes from the prompts.
"""

from __future__ import annotations

import re
from pathlib import Path

SPEC_REQUIREMENTS = """\
| FR-001 | Store tasks in a JSON file | US1 | P1 | Draft |
| FR-002 | Add and complete tasks from the command line | US1 | P1 | Draft |
| FR-003 | List open tasks, newest first | US1 | P2 | Draft |
| FR-004 | Document every command in the README | US2 | P3 | Draft |"""

TECHNICAL_CONTEXT = {
    "Language/Version": "Python 3.11",
    "Primary Dependencies": "standard library only",
    "Storage": "a JSON file in the user's home directory",
    "Testing": "pytest",
    "Target Platform": "Linux and macOS terminals",
    "Project Type": "single project",
}

# id: (title, dependencies, requirement refs, subtasks, owned files, body)
WORK_PACKAGES = {
    "WP01": ("Task storage", [], ["FR-001"], ["T001", "T002"],
             ["src/todo/__init__.py", "src/todo/store.py", "tests/test_store.py"],
             "Create `src/todo/store.py` with `load()` and `save()` for a list of tasks."),
    "WP02": ("Task listing", [], ["FR-003"], ["T003"],
             ["src/todo/listing.py", "tests/test_listing.py"],
             "Create `src/todo/listing.py` that orders open tasks newest first."),
    "WP03": ("Command line", ["WP01", "WP02"], ["FR-002", "FR-003"], ["T004", "T005"],
             ["src/todo/cli.py", "tests/test_cli.py"],
             "Create `src/todo/cli.py` with `add`, `done` and `list` using store and listing."),
    "WP04": ("User guide", ["WP03"], ["FR-004"], ["T006"], ["README-todo.md"],
             "Describe every command with an example in `README-todo.md`."),
}


def write_spec(spec_file: Path) -> None:
    text = spec_file.read_text()
    text = re.sub(r"^\| FR-001 \|.*$", SPEC_REQUIREMENTS, text, flags=re.M)
    text = text.replace("[short title]", "Keep a todo list in the terminal")
    spec_file.write_text(text)


def write_plan(plan_file: Path) -> None:
    text = plan_file.read_text()
    for field, value in TECHNICAL_CONTEXT.items():
        text = re.sub(rf"^\*\*{re.escape(field)}\*\*:.*$", f"**{field}**: {value}", text,
                      flags=re.M)
    plan_file.write_text(text)


def write_tasks(mission_dir: Path) -> None:
    sections = ["# Work Packages: Todo app\n"]
    for wp_id, (title, deps, refs, subtasks, _owned, goal) in WORK_PACKAGES.items():
        sections.append(
            f"## {wp_id}: {title}\n\n**Goal**: {goal}\n**Requirement Refs**: {', '.join(refs)}\n"
            f"**Dependencies**: {', '.join(deps) or 'none'}\n\n"
            + "".join(f"- {t} {title.lower()} step {n + 1}\n" for n, t in enumerate(subtasks)))
    (mission_dir / "tasks.md").write_text("\n".join(sections))
    for wp_id, (title, deps, refs, subtasks, owned, goal) in WORK_PACKAGES.items():
        name = f"{wp_id}-{title.lower().replace(' ', '-')}.md"
        (mission_dir / "tasks" / name).write_text(
            f"---\nwork_package_id: {wp_id}\ntitle: {title}\n"
            f"dependencies: [{', '.join(deps)}]\nrequirement_refs: [{', '.join(refs)}]\n"
            f"subtasks: [{', '.join(subtasks)}]\nowned_files: [{', '.join(owned)}]\n"
            f"execution_mode: code_change\n---\n# {wp_id}: {title}\n\n## Objective\n\n{goal}\n")


FILES = {
    "src/todo/__init__.py": '"""A tiny todo list."""\n',
    "src/todo/store.py": '''"""Tasks live in one JSON file."""

import json
from pathlib import Path


def load(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def save(path: Path, tasks: list[dict]) -> None:
    path.write_text(json.dumps(tasks, indent=2))
''',
    "tests/test_store.py": '''from todo.store import load, save


def test_round_trip(tmp_path):
    save(tmp_path / "t.json", [{"title": "a", "done": False}])
    assert load(tmp_path / "t.json") == [{"title": "a", "done": False}]
''',
    "src/todo/listing.py": '''"""Open tasks, newest first."""


def open_tasks(tasks: list[dict]) -> list[dict]:
    return [t for t in reversed(tasks) if not t["done"]]
''',
    "tests/test_listing.py": '''from todo.listing import open_tasks


def test_newest_first():
    tasks = [{"title": "old", "done": False}, {"title": "new", "done": False}]
    assert [t["title"] for t in open_tasks(tasks)] == ["new", "old"]
''',
    "src/todo/cli.py": '''"""todo add TITLE | todo done N | todo list"""

import sys
from pathlib import Path

from todo.listing import open_tasks
from todo.store import load, save

DB = Path.home() / ".todo.json"


def main(argv: list[str]) -> None:
    tasks = load(DB)
    if argv[:1] == ["add"]:
        tasks.append({"title": " ".join(argv[1:]), "done": False})
    elif argv[:1] == ["done"]:
        tasks[int(argv[1])]["done"] = True
    for task in open_tasks(tasks):
        print(task["title"])
    save(DB, tasks)


if __name__ == "__main__":
    main(sys.argv[1:])
''',
    "tests/test_cli.py": '''from todo import cli


def test_add_then_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "DB", tmp_path / "db.json")
    cli.main(["add", "water", "plants"])
    assert capsys.readouterr().out == "water plants\\n"
''',
    "README-todo.md": "# todo\n\n- `todo add TITLE` adds a task\n- `todo done N` completes one\n"
                      "- `todo list` shows open tasks, newest first\n",
}


# The one review that asks for changes, and how the implementer answers it.
REJECTED_ONCE = "WP02"
REVIEW_FEEDBACK = ("open_tasks() must also cope with an empty task list.\n\n"
                   "Add a test that an empty list gives an empty result.\n")
FEEDBACK_FIX = ("tests/test_listing.py", '''

def test_empty_list():
    assert open_tasks([]) == []
''')


def implement(workspace: Path, wp_id: str, feedback: str | None) -> list[str]:
    """Write the files a work package owns (and fix what the feedback asks)."""
    written = []
    for rel in WORK_PACKAGES[wp_id][4]:
        path = workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FILES[rel])
        written.append(rel)
    if feedback and "empty task list" in feedback:
        rel, extra = FEEDBACK_FIX
        path = workspace / rel
        path.write_text(path.read_text() + extra)
    return written
