"""implement / review / accept through the real CLI, in real git worktrees."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from execution_helpers import APPROVAL, OWNED, clone_template, commit_work, implement, to_approved

from helpers import git, run_cli
from planning_helpers import plan_mission, sk


@pytest.fixture
def mission(planned_template: Path, tmp_path: Path) -> tuple[Path, str]:
    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    return repo, slug


def test_implement_creates_the_lane_worktree_and_claims(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    result = implement(repo, slug, "WP01")
    workspace = Path(result["workspace_path"])
    assert workspace == repo / ".worktrees" / f"{slug}-lane-a"
    assert result["branch"] == f"kitty/mission-{slug}-lane-a" and result["status"] == "created"
    assert git(workspace, "rev-parse", "--abbrev-ref", "HEAD") == result["branch"]
    # The mission branch starts at main; the claim itself was then committed on main.
    assert git(repo, "rev-parse", f"kitty/mission-{slug}") == git(repo, "rev-parse", "main~1")
    assert git(repo, "log", "-1", "--format=%s", "main") == (
        f"status({slug}): WP01 planned → claimed → in_progress by claude")
    assert git(repo, "status", "--porcelain") == ""
    assert result["lanes_written"] == ["claimed", "in_progress"]
    assert "Do it well." in result["prompt"] and Path(result["prompt_file"]).exists()
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]
    card = next(c for c in board["work_packages"] if c["id"] == "WP01")
    assert card["lane"] == "in_progress" and card["agent"] == "claude"
    again = implement(repo, slug, "WP01")  # the same agent retrying: a no-op
    assert again["lanes_written"] == [] and again["status"] == "reused"
    code, other = sk(repo, "agent", "action", "implement", "WP01", "--agent", "codex",
                     "--mission", slug)
    assert code == 1 and other["error_code"] == "WORK_PACKAGE_CLAIM_CONFLICT"
    assert other["holder"] == "claude"


def test_implement_refusals(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    code, result = sk(repo, "agent", "action", "implement", "WP03", "--agent", "claude",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "DEPENDENCIES_NOT_SATISFIED"
    assert result["unmet_dependencies"] == {"WP01": "planned", "WP02": "planned"}
    assert not (repo / ".worktrees").exists()  # refused before any side effect
    mission_dir = repo / "kitty-specs" / slug
    (mission_dir / "tasks" / "WP05-late.md").write_text("---\ntitle: Late\n---\n")
    code, result = sk(repo, "agent", "action", "implement", "WP05", "--agent", "claude",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "WP_NOT_FINALIZED"
    # A mistyped id is not "not finalized": finalize-tasks would not help; name the real ones.
    for action in ("implement", "review"):
        code, result = sk(repo, "agent", "action", action, "WP09", "--agent", "claude",
                          "--mission", slug)
        assert code == 1 and result["error_code"] == "WP_NOT_FOUND", result
        assert "WP01" in result["error"] and "WP01" in result["known"]
    (mission_dir / "lanes.json").unlink()
    code, result = sk(repo, "agent", "action", "implement", "WP01", "--agent", "claude",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "LANES_MISSING"


def test_inside_a_lane_worktree_mission_required_names_its_mission(
        mission: tuple[Path, str]) -> None:
    repo, slug = mission
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    assert sk(repo, "agent", "mission", "create", "other")[0] == 0  # now two missions
    code, result = sk(workspace, "agent", "tasks", "mark-status", "T001", "--agent", "claude")
    assert code == 1 and result["error_code"] == "MISSION_REQUIRED", result
    assert f"--mission {slug}" in result["remediation"] and workspace.name in result[
        "remediation"]
    code, result = sk(repo, "agent", "tasks", "mark-status", "T001", "--agent", "claude")
    assert code == 1 and "remediation" not in result  # the main checkout names no mission


def test_auto_pick_and_crash_recovery(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    code, first = sk(repo, "agent", "action", "implement", "--agent", "claude", "--mission", slug)
    assert code == 0 and first["wp_id"] == "WP01"
    workspace = Path(first["workspace_path"])
    commit_work(workspace, {OWNED["WP01"]: "x = 1\n"}, "work")
    shutil.rmtree(workspace)  # the machine died and took the worktree directory with it
    recovered = implement(repo, slug, "WP01")
    assert recovered["status"] == "recovered"
    assert (workspace / OWNED["WP01"]).read_text() == "x = 1\n"


def test_dependency_lanes_are_merged_into_a_new_lane(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    for wp in ("WP01", "WP02"):
        workspace = Path(implement(repo, slug, wp)["workspace_path"])
        commit_work(workspace, {OWNED[wp]: f"# {wp}\n"}, f"{wp}")
        to_approved(repo, slug, wp)
    result = implement(repo, slug, "WP03")
    assert result["merged_dependency_lanes"] == ["lane-a", "lane-b"]
    workspace = Path(result["workspace_path"])
    assert (workspace / OWNED["WP01"]).exists() and (workspace / OWNED["WP02"]).exists()


def test_conflicting_dependency_lanes_leave_the_lane_untouched(
        mission: tuple[Path, str]) -> None:
    repo, slug = mission
    for wp in ("WP01", "WP02"):
        workspace = Path(implement(repo, slug, wp)["workspace_path"])
        # Both also edit a shared file, bypassing the ownership guard on purpose.
        commit_work(workspace, {OWNED[wp]: "x\n", "shared.txt": f"{wp}\n"}, wp, no_verify=True)
        to_approved(repo, slug, wp)
    code, result = sk(repo, "agent", "action", "implement", "WP03", "--agent", "claude",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "DEPENDENCY_LANE_MERGE_CONFLICT"
    assert result["files"] == ["shared.txt"]
    workspace = repo / ".worktrees" / f"{slug}-lane-c"
    assert git(workspace, "status", "--porcelain") == ""
    assert git(workspace, "rev-parse", "HEAD") == git(repo, "rev-parse", f"kitty/mission-{slug}")


def test_dirty_lane_is_not_reused_for_another_work_package(initialized_repo: Path) -> None:
    from planning_helpers import WPS
    wps = dict(WPS)
    # WP02 and WP03 own the same file, so they share one lane (one worktree).
    wps["WP03"] = ("Command line", ["WP01", "WP02"], ["FR-001", "FR-002"], ["T004"],
                   ["src/todo/listing.py"])
    slug = plan_mission(initialized_repo, wps).name
    for wp in ("WP01", "WP02"):
        workspace = Path(implement(initialized_repo, slug, wp)["workspace_path"])
        commit_work(workspace, {OWNED[wp]: "x\n"}, wp)
        to_approved(initialized_repo, slug, wp)
    shared = initialized_repo / ".worktrees" / f"{slug}-lane-b"
    (shared / "scratch.txt").write_text("uncommitted\n")
    code, result = sk(initialized_repo, "agent", "action", "implement", "WP03", "--agent",
                      "claude", "--mission", slug)
    assert code == 1 and result["error_code"] == "DIRTY_WORKTREE"
    assert result["files"] == ["scratch.txt"]
    assert (shared / "scratch.txt").read_text() == "uncommitted\n"


def test_ownership_guard_in_lane_worktrees(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    (workspace / "stray.txt").write_text("not mine\n")
    git(workspace, "add", "stray.txt")
    proc = subprocess.run(["git", "commit", "-m", "stray"], cwd=workspace, capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert "not owned by WP01" in proc.stderr and "stray.txt" in proc.stderr
    git(workspace, "reset", "-q", "stray.txt")
    spec = workspace / "kitty-specs" / slug / "spec.md"
    spec.write_text(spec.read_text() + "\nedited in a lane\n")
    git(workspace, "add", str(spec.relative_to(workspace)))
    proc = subprocess.run(["git", "commit", "-m", "spec"], cwd=workspace, capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "kitty-specs/ is never edited" in proc.stderr
    git(workspace, "reset", "-q", "--hard")
    commit_work(workspace, {OWNED["WP01"]: "ok\n"}, "owned file")  # allowed
    # The main checkout is not a lane branch: the guard does not apply there.
    (repo / "notes.txt").write_text("main checkout\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "notes")


def test_review_is_one_reviewer_at_a_time_and_can_reject(mission: tuple[Path, str],
                                                         tmp_path: Path) -> None:
    repo, slug = mission
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    commit = commit_work(workspace, {OWNED["WP01"]: "v1\n"}, "v1")
    sk(repo, "agent", "tasks", "mark-status", "T001", "T002", "--mission", slug)
    sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "for_review", "--mission", slug)
    code, review = sk(repo, "agent", "action", "review", "--agent", "rev", "--mission", slug)
    assert code == 0 and review["wp_id"] == "WP01" and review["review_started"]
    assert review["diff_range"].endswith(f"..kitty/mission-{slug}-lane-a")
    base = review["diff_range"].split("..")[0]
    assert git(repo, "rev-list", review["diff_range"]).split() == [commit]
    assert f"git -C {workspace} diff {base}" in review["prompt"]
    code, other = sk(repo, "agent", "action", "review", "WP01", "--agent", "rev2",
                     "--mission", slug)
    assert code == 1 and other["error_code"] == "WORK_PACKAGE_CLAIM_CONFLICT"
    feedback = repo / "feedback.md"
    feedback.write_text("Needs tests.\n")
    code, rejected = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "planned",
                        "--actor", "rev", "--review-feedback-file", str(feedback),
                        "--mission", slug)
    assert code == 0 and rejected["new_lane"] == "planned"
    again = implement(repo, slug, "WP01")  # back to work in the same worktree
    assert again["status"] == "reused" and again["lanes_written"] == ["claimed", "in_progress"]


def test_accept_lists_every_failed_check_then_records(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    mission_dir = repo / "kitty-specs" / slug
    spec = mission_dir / "spec.md"
    spec.write_text(spec.read_text() + "\n[NEEDS CLARIFICATION: which database?]\n")
    (repo / "untracked.txt").write_text("wip\n")
    code, result = sk(repo, "accept", "--mission", slug)
    assert code == 1 and result["ok"] is False
    assert {c["check"] for c in result["failed_checks"]} == {"work_packages", "clarifications",
                                                             "clean_tree"}
    assert "WP01 (planned)" in next(c["detail"] for c in result["failed_checks"]
                                    if c["check"] == "work_packages")
    tree = next(c["detail"] for c in result["failed_checks"] if c["check"] == "clean_tree")
    assert "untracked.txt" in tree and "commit or remove" in tree  # says what to do
    for wp in ("WP01", "WP02", "WP03", "WP04"):
        run_cli(["agent", "tasks", "move-task", wp, "--to", "approved", "--force", "--reason",
                 "test", "--evidence-json", APPROVAL, "--mission", slug], repo)
    spec.write_text(spec.read_text().replace("[NEEDS CLARIFICATION: which database?]",
                                             "SQLite."))
    git(repo, "add", str(spec.relative_to(repo)))
    git(repo, "commit", "-qm", "clarified")
    (repo / "untracked.txt").unlink()
    code, result = sk(repo, "accept", "--mission", slug, "--actor", "lead")
    assert code == 0 and result["ok"] and result["commit_created"]
    meta = json.loads((mission_dir / "meta.json").read_text())
    assert meta["accepted_by"] == "lead" and len(meta["acceptance_history"]) == 1
    assert git(repo, "status", "--porcelain") == ""
