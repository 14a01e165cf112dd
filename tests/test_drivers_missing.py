"""A fresh clone has the project's .gitattributes but not its .git/config: the status
merge drivers are missing until `spec-kitty init` runs there, and a pull of a
teammate's status commits would write conflict markers. `status` says so first."""

from __future__ import annotations

from pathlib import Path

from execution_helpers import clone_template

from helpers import git, run_cli
from planning_helpers import sk


def test_status_warns_in_a_clone_without_the_merge_drivers(planned_template: Path,
                                                           tmp_path: Path) -> None:
    origin, slug, _ = clone_template(planned_template, tmp_path / "origin")
    code, board = sk(origin, "agent", "tasks", "status", "--mission", slug)
    assert code == 0 and not any("merge driver" in w for w in board["warnings"]), board
    git(tmp_path, "clone", "-q", str(origin), "teammate")
    teammate = tmp_path / "teammate"
    code, board = sk(teammate, "agent", "tasks", "status", "--mission", slug)
    assert code == 0
    warned = [w for w in board["warnings"] if "merge driver" in w]
    assert warned and "spec-kitty-event-log" in warned[0] and "spec-kitty init" in warned[0]
    assert "merge driver" in run_cli(["status", "--mission", slug], teammate).stderr
    init = run_cli(["init", "."], teammate)
    assert init.returncode == 0, init.stderr
    code, board = sk(teammate, "agent", "tasks", "status", "--mission", slug)
    assert code == 0 and not any("merge driver" in w for w in board["warnings"]), board
