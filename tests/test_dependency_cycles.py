"""A dependency cycle made by editing WP files after finalize is named, never waited on.

finalize-tasks refuses cycles; afterwards, `next` said only "no work package is
actionable right now" and each WP "waits for" the next one, so agents polled forever.
"""

from __future__ import annotations

import re
from pathlib import Path

from execution_helpers import clone_template

from helpers import run_cli
from planning_helpers import sk


def _set_dependencies(path: Path, deps: str) -> None:
    text = re.sub(r"^dependencies:.*(\n  - .*)*$", f"dependencies: [{deps}]",
                  path.read_text(), count=1, flags=re.M)
    assert f"dependencies: [{deps}]" in text
    path.write_text(text)


def test_next_names_a_cycle_and_the_files_that_make_it(planned_template: Path,
                                                       tmp_path: Path) -> None:
    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    tasks = repo / "kitty-specs" / slug / "tasks"
    _set_dependencies(tasks / "WP01-storage.md", "WP04")  # WP04 → WP03 → WP01 already
    _set_dependencies(tasks / "WP02-listing.md", "WP2")  # depends on itself
    code, answer = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                      "success")
    assert code == 1 and answer["kind"] == "blocked", answer
    assert answer["error_code"] == "NEXT_BLOCKED" and "cycle" in answer["reason"]
    failures = answer["guard_failures"]
    assert any("WP01 → WP04 → WP03 → WP01" in f and "WP01-storage.md: dependencies: WP04"
               in f and "WP04-export.md: dependencies: WP03" in f
               and "WP03-command-line.md: dependencies: WP01" in f for f in failures), failures
    assert any("WP02 → WP02" in f and "WP02-listing.md: dependencies: WP02" in f
               for f in failures), failures
    board = run_cli(["status", "--mission", slug], repo)
    assert "dependency cycle WP01 → WP04 → WP03 → WP01" in board.stderr, board.stderr
    assert "Traceback" not in board.stderr + answer["error"]
