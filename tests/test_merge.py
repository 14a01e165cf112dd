"""spec-kitty merge in real repositories: the happy path and the data-loss matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution_helpers import (
    OWNED,
    all_commits,
    clone_template,
    commit_work,
    implement_all,
    merge,
    reachable_from_refs,
)

from helpers import git, run_cli
from planning_helpers import plan_mission, sk


@pytest.fixture
def approved(approved_template: Path, tmp_path: Path) -> tuple[Path, str, dict[str, str]]:
    return clone_template(approved_template, tmp_path / "copy")


def lanes_state(repo: Path, slug: str) -> dict[str, str]:
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]
    return {c["id"]: c["lane"] for c in board["work_packages"]}


def assert_nothing_lost(repo: Path, before: set[str]) -> None:
    lost = [c for c in before if not reachable_from_refs(repo, c)]
    assert lost == [], f"{len(lost)} commits are no longer reachable"


@pytest.mark.parametrize("strategy", ["merge", "squash", "rebase"])
def test_happy_path_with_parallel_lanes_and_a_diamond(
        approved: tuple[Path, str, dict[str, str]], strategy: str) -> None:
    repo, slug, commits = approved
    before = all_commits(repo)
    code, preview = merge(repo, slug, "--dry-run", "--strategy", strategy)
    assert code == 0 and preview["would_merge"] and preview["overlaps"] == []
    assert all_commits(repo) == before  # a dry run writes nothing
    code, result = merge(repo, slug, "--strategy", strategy)
    assert code == 0, result
    assert result["merged_lanes"] == ["lane-a", "lane-b", "lane-c", "lane-d"]
    assert sorted(result["done_wps"]) == ["WP01", "WP02", "WP03", "WP04"]
    for wp, owned in OWNED.items():
        assert (repo / owned).read_text() == f"# {wp}\nVALUE = '{wp}'\n"
    if strategy == "merge":
        for commit in commits.values():
            assert git(repo, "merge-base", "--is-ancestor", commit, "main") == ""
    assert_nothing_lost(repo, before)
    assert set(lanes_state(repo, slug).values()) == {"done"}
    assert git(repo, "status", "--porcelain") == ""
    assert not list((repo / ".worktrees").iterdir())
    assert git(repo, "branch", "--list", "kitty/*") == ""
    meta = json.loads((repo / "kitty-specs" / slug / "meta.json").read_text())
    assert meta["merge_strategy"] == strategy and meta["merged_into"] == "main"
    assert "record done transitions" in git(repo, "log", "-1", "--format=%s")
    shown = git(repo, "show", f"main:kitty-specs/{slug}/status.events.jsonl")
    assert sum('"to_lane": "done"' in line for line in shown.splitlines()) == 4


def test_preflight_refuses_unapproved_work_and_wrong_branch(initialized_repo: Path) -> None:
    repo = initialized_repo
    slug = plan_mission(repo).name
    code, result = merge(repo, slug)
    assert code == 1 and result["error_code"] == "MERGE_PREFLIGHT_FAILED"
    assert any("not approved: WP01 (planned)" in p for p in result["problems"])
    git(repo, "checkout", "-qb", "elsewhere")
    code, result = merge(repo, slug)
    assert any("main checkout is on elsewhere" in p for p in result["problems"])


def _conflicting_lanes(repo: Path) -> tuple[str, set[str]]:
    slug = plan_mission(repo).name
    implement_all(repo, slug)
    # Two parallel lanes then both change shared.txt (bypassing the ownership guard).
    for lane in ("lane-a", "lane-b"):
        commit_work(repo / ".worktrees" / f"{slug}-{lane}", {"shared.txt": f"from {lane}\n"},
                    f"{lane} touches shared.txt", no_verify=True)
    return slug, all_commits(repo)


def test_conflicting_lanes_stop_then_resume(initialized_repo: Path) -> None:
    repo = initialized_repo
    slug, before = _conflicting_lanes(repo)
    main_before = git(repo, "rev-parse", "main")
    # shared.txt is owned by no work package: preflight refuses until that is accepted.
    code, refused = merge(repo, slug)
    assert code == 1 and refused["error_code"] == "MERGE_PREFLIGHT_FAILED"
    assert any("do not own" in p and "shared.txt" in p for p in refused["problems"])
    assert git(repo, "rev-parse", "main") == main_before
    code, stopped = merge(repo, slug, "--allow-unowned")
    assert code == 1 and stopped["error_code"] == "MERGE_CONFLICT"
    assert stopped["conflicts"] == ["shared.txt"] and stopped["phase"] == "lanes"
    # Status was committed as it was recorded, so a stopped merge leaves main untouched.
    assert git(repo, "rev-parse", "main") == main_before
    assert_nothing_lost(repo, before)
    code, again = merge(repo, slug)
    assert code == 1 and again["error_code"] == "MERGE_IN_PROGRESS"
    workspace = Path(stopped["workspace"])
    (workspace / "shared.txt").write_text("from both\n")
    git(workspace, "add", "shared.txt")
    code, result = merge(repo, slug, "--resume")
    assert code == 0, result
    assert (repo / "shared.txt").read_text() == "from both\n"
    assert_nothing_lost(repo, before)


def test_conflicting_lanes_then_abort_restores_every_ref(initialized_repo: Path) -> None:
    repo = initialized_repo
    slug, before = _conflicting_lanes(repo)
    refs_before = git(repo, "for-each-ref", "--format=%(refname) %(objectname)",
                      "refs/heads/kitty")
    code, stopped = merge(repo, slug, "--allow-unowned")
    assert code == 1
    pre_main = git(repo, "rev-parse", "main")
    code, result = merge(repo, slug, "--abort")
    assert code == 0 and result["result"] == "aborted"
    assert git(repo, "rev-parse", "main") == pre_main
    assert git(repo, "for-each-ref", "--format=%(refname) %(objectname)",
               "refs/heads/kitty") == refs_before
    assert not Path(stopped["workspace"]).exists()
    assert_nothing_lost(repo, before)
    assert set(lanes_state(repo, slug).values()) == {"approved"}


def test_target_advanced_meanwhile_with_a_conflicting_change(
        approved: tuple[Path, str, dict[str, str]]) -> None:
    repo, slug, _ = approved
    (repo / "src" / "todo").mkdir(parents=True)
    (repo / OWNED["WP03"]).write_text("someone else's version\n")
    git(repo, "add", OWNED["WP03"])
    git(repo, "commit", "-qm", "a competing change on main")
    before = all_commits(repo)
    code, stopped = merge(repo, slug)
    assert code == 1 and stopped["phase"] == "target"
    assert stopped["conflicts"] == [OWNED["WP03"]]
    assert (repo / OWNED["WP03"]).read_text() == "someone else's version\n"
    workspace = Path(stopped["workspace"])
    (workspace / OWNED["WP03"]).write_text("merged by hand\n")
    git(workspace, "add", OWNED["WP03"])
    git(workspace, "commit", "-qm", "resolve")
    code, result = merge(repo, slug, "--resume")
    assert code == 0, result
    assert (repo / OWNED["WP03"]).read_text() == "merged by hand\n"
    assert_nothing_lost(repo, before)


def test_dirty_lane_worktree_is_kept_at_cleanup(
        approved: tuple[Path, str, dict[str, str]]) -> None:
    repo, slug, _ = approved
    lane_b = repo / ".worktrees" / f"{slug}-lane-b"
    (lane_b / "notes-in-progress.txt").write_text("do not lose me\n")
    code, result = merge(repo, slug)
    assert code == 0, result
    assert (lane_b / "notes-in-progress.txt").read_text() == "do not lose me\n"
    kept = {k["path"]: k["reason"] for k in result["kept_worktrees"]}
    assert str(lane_b) in kept and "uncommitted" in kept[str(lane_b)]
    assert git(repo, "rev-parse", "--verify", f"kitty/mission-{slug}-lane-b")  # branch kept
    assert not (repo / ".worktrees" / f"{slug}-lane-a").exists()


def test_merge_from_inside_a_lane_worktree_is_refused_and_writes_nothing(
        approved: tuple[Path, str, dict[str, str]]) -> None:
    repo, slug, _ = approved
    lane_a = repo / ".worktrees" / f"{slug}-lane-a"
    before = all_commits(repo)
    code, answer = merge(lane_a, slug)
    assert code == 1 and answer["error_code"] == "MERGE_FROM_WORKTREE", answer
    assert str(repo) in answer["remediation"] and lane_a.is_dir()
    assert all_commits(repo) == before and set(lanes_state(repo, slug).values()) == {"approved"}
    code, result = merge(repo, slug)  # from the main checkout, as the hint says
    assert code == 0, result


def test_unrelated_uncommitted_changes_in_main_checkout_survive(
        approved: tuple[Path, str, dict[str, str]]) -> None:
    repo, slug, _ = approved
    (repo / "README.md").write_text("# demo\nlocal edit\n")
    (repo / "scratch.txt").write_text("untracked\n")
    code, result = merge(repo, slug)
    assert code == 0, result
    assert (repo / "README.md").read_text() == "# demo\nlocal edit\n"
    assert (repo / "scratch.txt").read_text() == "untracked\n"


def test_conflicting_uncommitted_changes_stop_the_merge_without_loss(
        approved: tuple[Path, str, dict[str, str]]) -> None:
    repo, slug, _ = approved
    (repo / "src" / "todo").mkdir(parents=True)
    (repo / OWNED["WP01"]).write_text("my local draft\n")  # untracked, would be overwritten
    before = all_commits(repo)
    code, stopped = merge(repo, slug)
    assert code == 1 and stopped["error_code"] == "TARGET_NOT_ADVANCED"
    assert (repo / OWNED["WP01"]).read_text() == "my local draft\n"
    assert_nothing_lost(repo, before)
    (repo / OWNED["WP01"]).rename(repo / "my-draft.txt")
    code, result = merge(repo, slug, "--resume")
    assert code == 0, result
    assert (repo / "my-draft.txt").read_text() == "my local draft\n"
    assert (repo / OWNED["WP01"]).read_text().startswith("# WP01")


def test_merge_lock_and_no_state_errors(approved: tuple[Path, str, dict[str, str]]) -> None:
    repo, slug, _ = approved
    code, result = merge(repo, slug, "--resume")
    assert code == 1 and result["error_code"] == "NO_MERGE_IN_PROGRESS"
    code, result = merge(repo, slug, "--abort")
    assert code == 1 and result["error_code"] == "NO_MERGE_IN_PROGRESS"
    proc = run_cli(["merge", "--mission", slug, "--resume", "--abort", "--json"], repo)
    assert proc.returncode == 2


def test_lane_commits_after_approval_are_kept_not_deleted(
        approved: tuple[Path, str, dict[str, str]]) -> None:
    repo, slug, _ = approved
    code, _ = merge(repo, slug, env={"SPEC_KITTY_CRASH_AT": "merge:cleanup:before"})
    lane_a = repo / ".worktrees" / f"{slug}-lane-a"
    late = commit_work(lane_a, {OWNED["WP01"]: "late fix\n"}, "late fix after the merge")
    code, result = merge(repo, slug, "--resume")
    assert code == 0, result
    assert lane_a.exists() and reachable_from_refs(repo, late)
    assert any("not merged" in k["reason"] for k in result["kept_worktrees"])
