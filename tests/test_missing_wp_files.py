"""Work packages whose files were deleted after finalize (e.g. the whole ``tasks/``
folder) are named on the board and never handed out by ``next``: their prompt and owned
files are unknown, so implementing them could only fail later."""

from __future__ import annotations

import shutil
from pathlib import Path

from execution_helpers import clone_template

from helpers import run_cli
from planning_helpers import sk


def test_a_deleted_tasks_folder_is_named_and_no_step_is_handed_out(
        planned_template: Path, tmp_path: Path) -> None:
    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    shutil.rmtree(repo / "kitty-specs" / slug / "tasks")
    code, answer = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                      "success")
    assert code == 1 and answer["kind"] == "blocked", answer
    assert "file is missing" in answer["reason"]
    assert any(f"git checkout HEAD -- kitty-specs/{slug}/tasks" in f
               for f in answer["guard_failures"]), answer
    code, board = sk(repo, "agent", "tasks", "status", "--mission", slug)
    assert code == 0 and any("WP01 has status events but no file" in w
                             for w in board["warnings"]), board
    shown = run_cli(["status", "--mission", slug], repo)
    assert shown.returncode == 0 and "no file in" in shown.stderr, shown.stderr
    assert "Traceback" not in shown.stderr
