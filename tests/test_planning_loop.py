"""The planning loop through the real CLI: create, spec, plan, tasks, finalize, next."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from helpers import git, run_cli
from planning_helpers import WPS, create, fill_plan, plan_mission, sk, write_spec, write_tasks


def tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and ".git" not in rel.parts and "runtime" not in rel.parts:
            digest.update(str(rel).encode() + path.read_bytes())
    return digest.hexdigest()


def test_create_writes_identity_and_scaffold(initialized_repo: Path) -> None:
    result = create(initialized_repo)
    slug = result["mission_slug"]
    assert slug == f"todo-app-{result['mission_id'][:8]}" and len(result["mission_id"]) == 26
    mission_dir = initialized_repo / "kitty-specs" / slug
    meta_text = (mission_dir / "meta.json").read_text()
    meta = json.loads(meta_text)
    assert meta_text == json.dumps(meta, indent=2, sort_keys=True) + "\n"
    assert {"mission_id", "mission_slug", "slug", "friendly_name", "mission_type",
            "target_branch", "created_at", "purpose_tldr"} <= set(meta)
    assert meta["mission_number"] is None and meta["target_branch"] == "main"
    spec = (mission_dir / "spec.md").read_text()
    assert "Todo app" in spec and slug in spec and "{{" not in spec
    assert (mission_dir / "status.events.jsonl").read_text() == ""
    assert (mission_dir / "tasks").is_dir() and (mission_dir / "checklists").is_dir()
    listed = sk(initialized_repo, "mission", "list")[1]
    assert [m["mission_slug"] for m in listed["missions"]] == [slug]


@pytest.mark.parametrize(("slug", "code"), [("Bad_Slug", "INVALID_SLUG"),
                                            ("trailing-", "INVALID_SLUG"),
                                            ("a--b", "INVALID_SLUG"),
                                            # too long for a directory or branch name
                                            ("a" * 81, "INVALID_SLUG"),
                                            ("a" * 300, "INVALID_SLUG")])
def test_create_rejects_bad_slugs(initialized_repo: Path, slug: str, code: str) -> None:
    status, result = sk(initialized_repo, "agent", "mission", "create", slug)
    assert status == 1 and result["error_code"] == code
    assert not (initialized_repo / "kitty-specs").exists()


def test_a_slug_at_the_length_limit_is_accepted(initialized_repo: Path) -> None:
    status, created = sk(initialized_repo, "agent", "mission", "create", "a" * 80)
    assert status == 0, created
    assert len(created["mission_slug"]) == 89


def test_create_refusals(initialized_repo: Path, tmp_path: Path) -> None:
    worktree = initialized_repo / ".worktrees" / "wt"
    git(initialized_repo, "worktree", "add", "-q", "-b", "wt", str(worktree))
    assert sk(worktree, "agent", "mission", "create", "x")[1]["error_code"] == \
        "MISSION_CREATE_IN_WORKTREE"
    git(initialized_repo, "checkout", "-q", "--detach")
    assert sk(initialized_repo, "agent", "mission", "create", "x")[1]["error_code"] == \
        "DETACHED_HEAD"
    git(initialized_repo, "checkout", "-q", "main")
    assert sk(initialized_repo, "agent", "mission", "create", "x", "--mission-type",
              "poetry") == (2, {"error": "Invalid value for '--mission-type': 'poetry' is not "
                                "one of 'software-dev', 'research', 'documentation'.",
                                "error_code": "USAGE_ERROR"})
    assert sk(initialized_repo, "agent", "mission", "create", "x", "--target-branch",
              "nope")[1]["error_code"] == "TARGET_BRANCH_MISSING"
    plain = tmp_path / "no-git"
    plain.mkdir()
    assert run_cli(["init", ".", "--ai", "claude"], plain).returncode == 0
    assert sk(plain, "agent", "mission", "create", "x")[1]["error_code"] == "NOT_A_GIT_REPO"


def test_setup_plan_gates_in_order(initialized_repo: Path) -> None:
    created = create(initialized_repo)
    slug, mission_dir = created["mission_slug"], Path(created["feature_dir"])

    def setup_plan() -> dict:
        code, result = sk(initialized_repo, "agent", "mission", "setup-plan", "--mission", slug)
        # A blocked answer exits 1 with error and error_code (team rule, like `next`).
        assert code == (1 if result["result"] == "blocked" else 0), result
        assert ("error" in result) == (result["result"] == "blocked"), result
        return result

    blocked = setup_plan()
    assert (blocked["result"], blocked["spec_substantive"], blocked["spec_committed"]) == (
        "blocked", False, False)
    assert blocked["error_code"] == "SPEC_NOT_SUBSTANTIVE_OR_UNCOMMITTED"
    sk(initialized_repo, "agent", "mission", "spec-commit", "--mission", slug)
    committed_template = setup_plan()
    assert (committed_template["spec_substantive"], committed_template["spec_committed"]) == (
        False, True)
    write_spec(mission_dir)
    uncommitted = setup_plan()
    assert (uncommitted["result"], uncommitted["spec_substantive"],
            uncommitted["spec_committed"]) == ("blocked", True, False)
    assert not (mission_dir / "plan.md").exists()
    outside = sk(initialized_repo, "agent", "mission", "spec-commit", "--mission", slug,
                 str(initialized_repo / "README.md"))
    assert outside[1]["error_code"] == "PATH_OUTSIDE_MISSION"
    commit = sk(initialized_repo, "agent", "mission", "spec-commit", "--mission", slug)[1]
    assert commit["committed"] and git(initialized_repo, "log", "-1", "--format=%H") == \
        commit["commit_hash"]
    assert git(initialized_repo, "show", "--name-only", "--format=", "HEAD").splitlines() == \
        [f"kitty-specs/{slug}/spec.md"]
    scaffold = setup_plan()
    assert (scaffold["result"], scaffold["scaffold_only"], scaffold["phase_complete"]) == (
        "success", True, False)
    assert "**Language/Version**" in (mission_dir / "plan.md").read_text()
    assert setup_plan()["scaffold_only"] is True  # still the untouched template
    plan = mission_dir / "plan.md"
    plan.write_text(plan.read_text().replace("**Testing**: [e.g. pytest, Playwright]",
                                             "**Testing**: pytest"))
    partial = setup_plan()
    assert partial["result"] == "blocked" and partial["error_code"] == "PLAN_NOT_SUBSTANTIVE"
    assert "Language/Version" in partial["blocked_reason"]
    fill_plan(mission_dir)
    done = setup_plan()
    assert (done["result"], done["phase_complete"], done["commit_created"]) == (
        "success", True, True)
    assert git(initialized_repo, "log", "-1", "--format=%s") == \
        f"docs({slug}): implementation plan"


def test_setup_plan_without_spec_file_fails(initialized_repo: Path) -> None:
    created = create(initialized_repo)
    Path(created["spec_file"]).unlink()
    code, result = sk(initialized_repo, "agent", "mission", "setup-plan", "--mission",
                      created["mission_slug"])
    assert code == 1 and result["error_code"] == "SPEC_FILE_MISSING"


@pytest.fixture
def planned(initialized_repo: Path) -> tuple[Path, str, Path]:
    created = create(initialized_repo)
    slug, mission_dir = created["mission_slug"], Path(created["feature_dir"])
    write_spec(mission_dir)
    sk(initialized_repo, "agent", "mission", "spec-commit", "--mission", slug)
    sk(initialized_repo, "agent", "mission", "setup-plan", "--mission", slug)
    fill_plan(mission_dir)
    sk(initialized_repo, "agent", "mission", "setup-plan", "--mission", slug)
    return initialized_repo, slug, mission_dir


def finalize(repo: Path, slug: str, *extra: str) -> tuple[int, dict]:
    return sk(repo, "agent", "mission", "finalize-tasks", "--mission", slug, *extra)


def codes(result: dict) -> set[str]:
    return {p["code"] for p in result["problems"]}


def test_finalize_without_tasks(planned: tuple[Path, str, Path]) -> None:
    repo, slug, _ = planned
    code, result = finalize(repo, slug)
    assert code == 1 and codes(result) == {"TASKS_MISSING"}


def test_finalize_lists_every_problem_with_file_and_line(planned: tuple[Path, str,
                                                                        Path]) -> None:
    repo, slug, mission_dir = planned
    broken = dict(WPS)
    broken["WP02"] = ("Listing", ["WP09"], ["FR-002", "FR-777"], ["T003"],
                      ["src/todo/store.py"])  # unknown dep, unknown ref, overlaps WP01
    broken["WP04"] = ("Export", ["WP03"], [], ["T005"], [])  # no refs, no owned files
    write_tasks(mission_dir, broken)
    (mission_dir / "tasks" / "WP05-extra.md").write_text("---\ntitle: Extra\n---\n")
    before = (mission_dir / "status.events.jsonl").read_bytes()
    code, result = finalize(repo, slug)
    assert code == 1 and result["error_code"] == "FINALIZE_VALIDATION_FAILED"
    assert codes(result) >= {"UNKNOWN_DEPENDENCY", "UNKNOWN_REQUIREMENT_REF",
                             "OWNERSHIP_OVERLAP", "MISSING_REQUIREMENT_REFS",
                             "MISSING_OWNED_FILES", "EXTRA_WP_FILE",
                             "UNMAPPED_FUNCTIONAL_REQUIREMENT"}
    for problem in result["problems"]:
        assert problem["file"].startswith(f"kitty-specs/{slug}/") and problem["line"] >= 1
    # The dependency was written in tasks.md, so that is where the error points.
    unknown = next(p for p in result["problems"] if p["code"] == "UNKNOWN_DEPENDENCY")
    tasks_lines = (mission_dir / "tasks.md").read_text().splitlines()
    assert unknown["file"].endswith("tasks.md") and "WP09" in unknown["message"]
    assert tasks_lines[unknown["line"] - 1] == "**Dependencies**: WP09"
    unmapped = next(p for p in result["problems"]
                    if p["code"] == "UNMAPPED_FUNCTIONAL_REQUIREMENT")
    assert unmapped["file"].endswith("spec.md") and "FR-003" in unmapped["message"]
    assert (mission_dir / "status.events.jsonl").read_bytes() == before
    assert not (mission_dir / "lanes.json").exists()


def test_finalize_reports_the_root_cause_first_without_knock_on_errors(
        planned: tuple[Path, str, Path]) -> None:
    repo, slug, mission_dir = planned
    write_tasks(mission_dir)
    bad = next((mission_dir / "tasks").glob("WP04-*.md"))
    bad.write_text("---\ntitle: [unclosed\nowned_files: [src/todo/export.py]\n---\n")
    code, result = finalize(repo, slug)
    assert code == 1
    assert result["first"]["code"] == "FRONTMATTER_INVALID"
    assert result["first"]["file"].endswith(bad.name) and result["first"]["line"] == 2
    assert result["problems"][0] == result["first"]
    # WP04 was the only one covering FR-003 and owning export.py: nothing else is reported.
    assert codes(result) == {"FRONTMATTER_INVALID"}


def test_finalize_non_utf8_files_are_named_root_causes(planned: tuple[Path, str,
                                                                         Path]) -> None:
    repo, slug, mission_dir = planned
    write_tasks(mission_dir)
    wp = next((mission_dir / "tasks").glob("WP02-*.md"))
    wp.write_bytes(wp.read_bytes().replace(b"Listing", b"List\xe9"))
    tasks = mission_dir / "tasks.md"
    code, result = finalize(repo, slug)
    assert code == 1 and codes(result) == {"FILE_NOT_UTF8"}
    assert result["first"]["file"].endswith(wp.name) and "not UTF-8" in result["error"]
    tasks.write_bytes(tasks.read_bytes() + b"\n\xff\n")
    code, result = finalize(repo, slug)
    assert codes(result) == {"FILE_NOT_UTF8"}  # no "extra WP file" for every WP
    assert {p["file"].rsplit("/", 1)[-1] for p in result["problems"]} == {"tasks.md", wp.name}


def test_finalize_rejects_cycles_and_missing_sections(planned: tuple[Path, str,
                                                                     Path]) -> None:
    repo, slug, mission_dir = planned
    cyclic = dict(WPS)
    cyclic["WP01"] = ("Storage", ["WP04"], ["FR-001"], ["T001"], ["src/todo/store.py"])
    write_tasks(mission_dir, cyclic)
    tasks = mission_dir / "tasks.md"
    tasks.write_text(tasks.read_text().replace("## WP02: Listing", "## Notes on listing"))
    code, result = finalize(repo, slug)
    assert code == 1
    assert {"DEPENDENCY_CYCLE", "EXTRA_WP_FILE"} <= codes(result)
    cycle = next(p for p in result["problems"] if p["code"] == "DEPENDENCY_CYCLE")
    assert "WP01 → WP04 → WP03 → WP01" in cycle["message"]


def test_finalize_validate_only_then_real_run_then_rerun(planned: tuple[Path, str,
                                                                        Path]) -> None:
    repo, slug, mission_dir = planned
    write_tasks(mission_dir)
    before = tree_hash(repo)
    code, preview = finalize(repo, slug, "--validate-only")
    assert code == 0 and preview["result"] == "validation_passed"
    assert len(preview["would_modify"]) == 4
    assert tree_hash(repo) == before  # writes nothing
    head = git(repo, "rev-parse", "HEAD")
    code, result = finalize(repo, slug)
    assert code == 0, result
    assert result["commit_created"] and git(repo, "rev-parse", "HEAD~1") == head
    assert result["bootstrap"]["newly_seeded"] == ["WP01", "WP02", "WP03", "WP04"]
    assert result["lanes"]["lane_ids"] == ["lane-a", "lane-b", "lane-c", "lane-d"]
    assert git(repo, "status", "--porcelain", f"kitty-specs/{slug}") == ""
    lanes = json.loads((mission_dir / "lanes.json").read_text())
    assert lanes["mission_branch"] == f"kitty/mission-{slug}" and lanes["version"] == 1
    assert [(lane["wp_ids"], lane["depends_on_lanes"]) for lane in lanes["lanes"]] == [
        (["WP01"], []), (["WP02"], []), (["WP03"], ["lane-a", "lane-b"]), (["WP04"],
                                                                          ["lane-c"])]
    events = [json.loads(t) for t in (mission_dir / "status.events.jsonl").read_text()
              .splitlines()]
    assert [(e["wp_id"], e["from_lane"], e["to_lane"]) for e in events] == [
        (wp, "genesis", "planned") for wp in ["WP01", "WP02", "WP03", "WP04"]]
    wp3 = (mission_dir / "tasks" / "WP03-command-line.md").read_text()
    assert "dependencies:" in wp3 and "WP01" in wp3 and "requirement_refs:" in wp3
    code, again = finalize(repo, slug)
    assert code == 0 and again["commit_created"] is False
    assert again["bootstrap"]["newly_seeded"] == []
    assert len((mission_dir / "status.events.jsonl").read_text().splitlines()) == 4


def test_next_walks_the_planning_gates_then_the_board(initialized_repo: Path) -> None:
    created = create(initialized_repo)
    slug, mission_dir = created["mission_slug"], Path(created["feature_dir"])

    def query() -> dict:
        code, answer = sk(initialized_repo, "next", "--agent", "claude", "--mission", slug)
        assert code == 0 and answer["kind"] == "query" and answer["prompt_file"] is None
        return answer

    assert query()["preview_step"]["action"] == "specify"
    write_spec(mission_dir)
    sk(initialized_repo, "agent", "mission", "spec-commit", "--mission", slug)
    assert query()["preview_step"]["action"] == "plan"
    sk(initialized_repo, "agent", "mission", "setup-plan", "--mission", slug)
    fill_plan(mission_dir)
    sk(initialized_repo, "agent", "mission", "setup-plan", "--mission", slug)
    assert query()["preview_step"]["action"] == "tasks"
    code, step = sk(initialized_repo, "next", "--agent", "claude", "--mission", slug,
                    "--result", "success")
    assert step["kind"] == "step" and step["action"] == "tasks"
    assert "finalize-tasks" in Path(step["prompt_file"]).read_text()
    write_tasks(mission_dir)
    finalize(initialized_repo, slug)
    code, step = sk(initialized_repo, "next", "--agent", "claude", "--mission", slug,
                    "--result", "success")
    assert (step["kind"], step["action"], step["wp_id"]) == ("step", "implement", "WP01")
    prompt = Path(step["prompt_file"]).read_text()
    assert "Do it well." in prompt and step["workspace_path"] in prompt
    assert "move-task WP01 --to for_review" in prompt
    assert step["progress"]["planned_wps"] == 4 and step["by_lane"]["planned"] == 4
    code, answer = sk(initialized_repo, "next", "--mission", slug, "--result", "success")
    assert code == 2 and answer["error_code"] == "USAGE_ERROR"


def test_next_blocked_exits_1_with_guard_failures(initialized_repo: Path) -> None:
    mission_dir = plan_mission(initialized_repo)
    slug = mission_dir.name
    for wp in ("WP01", "WP02"):
        run_cli(["agent", "tasks", "move-task", wp, "--to", "in_progress", "--actor", "codex",
                 "--mission", slug], initialized_repo)
    code, answer = sk(initialized_repo, "next", "--agent", "claude", "--mission", slug,
                      "--result", "success")
    assert code == 1 and answer["kind"] == "blocked"
    assert "WP01 is being implemented by codex" in answer["guard_failures"]
    assert "WP03 waits for WP01 (in_progress), WP02 (in_progress)" in answer["guard_failures"]
