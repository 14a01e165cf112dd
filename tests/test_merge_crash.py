"""kill -9 at every merge phase, then --resume or --abort: nothing is ever lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution_helpers import OWNED, all_commits, clone_template, merge, reachable_from_refs

from helpers import git
from planning_helpers import sk

CRASH_POINTS = [
    "merge:start:after-state",
    "merge:lanes:before-merge",
    "merge:lanes:before-ref",
    "merge:target:before",
    "merge:advance:before",
    "merge:advance:after",
    "merge:done:before-commit",
    "merge:cleanup:before",
]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_then_resume(approved_template: Path, tmp_path: Path, point: str) -> None:
    repo, slug, _ = clone_template(approved_template, tmp_path / "copy")
    before = all_commits(repo)
    code, _ = merge(repo, slug, env={"SPEC_KITTY_CRASH_AT": point})
    assert code == -9, f"the crash point {point} was never reached"
    assert [c for c in before if not reachable_from_refs(repo, c)] == []
    code, result = merge(repo, slug, "--resume")
    assert code == 0, result
    assert result["done_wps"] == sorted(OWNED), result  # also when recorded before the kill
    assert [c for c in before if not reachable_from_refs(repo, c)] == []
    for wp, owned in OWNED.items():
        assert (repo / owned).read_text().startswith(f"# {wp}")
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]
    assert {c["lane"] for c in board["work_packages"]} == {"done"}
    events = (repo / "kitty-specs" / slug / "status.events.jsonl").read_text().splitlines()
    assert sum('"to_lane": "done"' in e for e in events) == 4  # never written twice
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_then_abort(approved_template: Path, tmp_path: Path, point: str) -> None:
    repo, slug, _ = clone_template(approved_template, tmp_path / "copy")
    before = all_commits(repo)
    lane_refs = git(repo, "for-each-ref", "--format=%(refname) %(objectname)",
                    "refs/heads/kitty/")
    code, _ = merge(repo, slug, env={"SPEC_KITTY_CRASH_AT": point})
    assert code == -9
    state = json.loads(next((repo / ".kittify/runtime/merge").glob("*/state.json")).read_text())
    code, result = merge(repo, slug, "--abort")
    if point == "merge:cleanup:before":
        assert code == 1 and result["error_code"] == "MERGE_TOO_FAR_TO_ABORT"
        assert merge(repo, slug, "--resume")[0] == 0
        return
    assert code == 0, result
    assert git(repo, "rev-parse", "main") == state["pre_target"]
    assert not (repo / OWNED["WP01"]).exists()
    assert [line for line in git(repo, "for-each-ref", "--format=%(refname) %(objectname)",
                                 "refs/heads/kitty/").splitlines()
            if "lane-" in line] == [line for line in lane_refs.splitlines() if "lane-" in line]
    assert [c for c in before if not reachable_from_refs(repo, c)] == []
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]
    assert {c["lane"] for c in board["work_packages"]} == {"approved"}
    # And the mission can still be merged afterwards.
    code, result = merge(repo, slug)
    assert code == 0, result


def test_advancing_the_target_waits_for_a_busy_index_lock(approved_template: Path,
                                                          tmp_path: Path) -> None:
    """`git merge --ff-only` in the main checkout fails at once while another git process
    (a `git status`, an agent's status commit) holds index.lock; the merge stopped with a
    hint to commit or stash local changes. It now waits for the lock."""
    import os
    import subprocess

    from helpers import CLI

    repo, slug, _ = clone_template(approved_template, tmp_path / "copy")
    code, _ = merge(repo, slug, env={"SPEC_KITTY_CRASH_AT": "merge:advance:before"})
    assert code < 0
    before = git(repo, "rev-parse", "main")
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"DIRC another git process")
    proc = subprocess.Popen([str(CLI), "merge", "--mission", slug, "--resume", "--json"],
                            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "SPEC_KITTY_GIT_LOCK_WAIT": "600"})
    assert proc.stderr is not None
    notice = proc.stderr.readline()  # the merge has met the lock and is waiting
    lock.unlink()
    out, err = proc.communicate()
    assert "index lock" in notice, notice + err
    assert proc.returncode == 0, out + err
    assert json.loads(out)["result"] == "success"
    assert git(repo, "rev-parse", "main") != before
    assert git(repo, "status", "--porcelain") == ""
