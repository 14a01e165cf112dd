"""Through the real CLI: every file we read tolerates a UTF-8 BOM and CRLF; non-UTF-8
is FILE_NOT_UTF8; output never crashes on the terminal's encoding; unreadable WP files
fail closed (properties of the reading seam itself: test_textio.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from execution_helpers import OWNED, commit_work, implement

from helpers import CLI, parse_one_json, run_cli
from missions_fixture import make_mission
from planning_helpers import plan_mission, sk

BOM = b"\xef\xbb\xbf"


# --- every reader, through the real CLI ---------------------------------------------------

def _add_bom(path: Path) -> None:
    path.write_bytes(BOM + path.read_bytes().replace(b"\n", b"\r\n"))


@pytest.fixture
def planned(initialized_repo: Path) -> tuple[Path, str, Path]:
    mission_dir = plan_mission(initialized_repo)
    return initialized_repo, mission_dir.name, mission_dir


def test_bom_and_crlf_in_every_planning_file_read_the_same(
        planned: tuple[Path, str, Path]) -> None:
    repo, slug, mission_dir = planned
    before = {
        "validate": sk(repo, "agent", "mission", "finalize-tasks", "--mission", slug,
                       "--validate-only"),
        "board": sk(repo, "agent", "tasks", "status", "--mission", slug),
        "next": sk(repo, "next", "--agent", "claude", "--mission", slug),
    }
    files = [mission_dir / n for n in ("tasks.md", "spec.md", "plan.md", "meta.json",
                                      "lanes.json")]
    files += sorted((mission_dir / "tasks").glob("WP*.md"))
    files += [repo / ".kittify" / "config.yaml", repo / ".kittify" / "metadata.yaml"]
    for path in files:
        _add_bom(path)
    after = {
        "validate": sk(repo, "agent", "mission", "finalize-tasks", "--mission", slug,
                       "--validate-only"),
        "board": sk(repo, "agent", "tasks", "status", "--mission", slug),
        "next": sk(repo, "next", "--agent", "claude", "--mission", slug),
    }
    assert after["validate"][0] == 0, after["validate"]
    assert after["validate"][1]["dependencies_parsed"] == \
        before["validate"][1]["dependencies_parsed"]
    assert after["board"] == before["board"]
    assert after["next"][1]["action"] == before["next"][1]["action"] == "implement"
    assert after["next"][1]["wp_id"] == before["next"][1]["wp_id"]
    verify = sk(repo, "verify-setup")
    assert {c["name"]: c["status"] for c in verify[1]["checks"]}["config"] == "ok"
    assert sk(repo, "charter", "init")[0] == 0
    _add_bom(repo / ".kittify" / "charter" / "charter.md")
    shown = sk(repo, "charter", "show")[1]["text"]
    assert not shown.startswith("\ufeff") and shown.startswith("#")


def test_bom_in_a_wp_file_keeps_its_dependency_gate_and_owned_files(
        planned: tuple[Path, str, Path]) -> None:
    """The issue's example: a BOM hid WP03's frontmatter, so its dependency gate was
    skipped and the guard refused every file."""
    repo, slug, mission_dir = planned
    for wp_file in (mission_dir / "tasks").glob("WP0[13]-*.md"):
        _add_bom(wp_file)
    code, result = sk(repo, "agent", "action", "implement", "WP03", "--agent", "claude",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "DEPENDENCIES_NOT_SATISFIED"
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    commit_work(workspace, {OWNED["WP01"]: "x = 1\n"}, "owned file")  # the guard allows it


def test_an_unreadable_wp_file_fails_closed_naming_it(planned: tuple[Path, str, Path]) -> None:
    repo, slug, mission_dir = planned
    wp03 = next((mission_dir / "tasks").glob("WP03-*.md"))
    wp03.write_text("---\ntitle: [unclosed\n---\nbody\n")
    code, result = sk(repo, "agent", "action", "implement", "WP03", "--agent", "claude",
                      "--mission", slug)
    assert code == 1 and result["error_code"] == "FRONTMATTER_INVALID"
    assert result["file"] == str(wp03) and "dependencies" in result["error"]
    wp01 = next((mission_dir / "tasks").glob("WP01-*.md"))
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    wp01.write_bytes(wp01.read_bytes().replace(b"Storage", b"Stor\xe9ge"))
    (workspace / OWNED["WP01"]).parent.mkdir(parents=True, exist_ok=True)
    (workspace / OWNED["WP01"]).write_text("x = 1\n")
    subprocess.run(["git", "add", OWNED["WP01"]], cwd=workspace, check=True)
    proc = subprocess.run(["git", "commit", "-m", "work"], cwd=workspace, capture_output=True,
                          text=True)
    assert proc.returncode == 1  # the guard refuses: WP01's owned files are unknown
    assert wp01.name in proc.stderr and "not UTF-8" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("target", ["meta.json", "spec.md", "tasks.md", "lanes.json"])
def test_non_utf8_files_are_file_not_utf8(planned: tuple[Path, str, Path], target: str) -> None:
    repo, slug, mission_dir = planned
    path = mission_dir / target
    path.write_bytes(path.read_bytes() + b"\n\xe9t\xe9\n")
    commands = {
        "meta.json": ["agent", "tasks", "status", "--mission", slug],
        "spec.md": ["agent", "mission", "setup-plan", "--mission", slug],
        "tasks.md": ["agent", "mission", "finalize-tasks", "--mission", slug],
        "lanes.json": ["agent", "action", "implement", "WP01", "--agent", "claude",
                       "--mission", slug],
    }
    code, result = sk(repo, *commands[target])
    assert code == 1, result
    first = result.get("first", result)
    assert (first.get("code") or result["error_code"]) == "FILE_NOT_UTF8"
    assert target in result["error"] and "INTERNAL_ERROR" not in json.dumps(result)


# --- output encodings -------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["cp1252", "ascii", "latin-1"])
def test_output_never_crashes_on_the_terminal_encoding(initialized_repo: Path,
                                                       encoding: str) -> None:
    make_mission(initialized_repo, wps={"WP01": {"title": "Café-✓ done"}})
    meta = initialized_repo / "kitty-specs/demo-01JDEMQ0/meta.json"
    meta.write_text(meta.read_text().replace("Demo mission", "Café-✓ mission"))
    env = {"PYTHONIOENCODING": encoding}
    for args in (["agent", "tasks", "status", "--json"], ["next", "--json"],
                 ["status", "--json"], ["status", "--all", "--json"]):
        proc = run_cli(args, initialized_repo, env=env)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        payload = parse_one_json(proc.stdout)
        proc.stdout.encode(encoding)  # what was written is representable
        if args[0] != "next":
            assert "Café-✓" in json.dumps(payload, ensure_ascii=False)
    for args in (["status"], ["status", "--all"], ["agent", "tasks", "status"],
                 ["next", "--agent", "claude"], ["mission", "list"]):
        raw = subprocess.run([str(CLI), *args], cwd=initialized_repo, capture_output=True,
                             env={**os.environ, **env, "COLUMNS": "100"})
        out, err = raw.stdout.decode(encoding), raw.stderr.decode(encoding)
        assert raw.returncode == 0, (args, err)
        assert "Traceback" not in err and "INTERNAL_ERROR" not in err
        if args[0] != "next":
            assert "Caf" in out, args


@pytest.mark.parametrize("broken", [b"---\ntitle: [unclosed\n---\n", b"caf\xe9\n"])
def test_next_never_offers_a_work_package_whose_file_cannot_be_read(
        planned: tuple[Path, str, Path], broken: bytes) -> None:
    """WP03's dependencies are unknown while its file is unreadable: `next` answers
    blocked (exit 1 once an agent reports), naming the file once, instead of treating it
    as a work package without dependencies."""
    repo, slug, mission_dir = planned
    for wp in ("WP01", "WP02"):
        assert sk(repo, "agent", "tasks", "move-task", wp, "--to", "approved", "--force",
                  "--reason", "test", "--mission", slug)[0] == 0
    wp03 = next((mission_dir / "tasks").glob("WP03-*.md"))
    wp03.write_bytes(broken)
    code, query = sk(repo, "next", "--agent", "claude", "--mission", slug)
    assert code == 0 and query["preview_step"] == {"kind": "blocked", "action": "implement",
                                                   "wp_id": "WP03"}, query
    code, answer = sk(repo, "next", "--agent", "claude", "--result", "success", "--mission",
                      slug)
    assert code == 1 and answer["error_code"] == "NEXT_BLOCKED", answer
    [failure] = answer["guard_failures"]
    assert failure.count(wp03.name) == 1, failure


def test_hand_over_and_subtask_marks_fail_closed_on_an_unreadable_wp_file(
        planned: tuple[Path, str, Path]) -> None:
    """Moving to review checks the file's subtasks and owned files; marking an unlisted
    subtask looks them up in every file: neither may treat a broken file as empty."""
    repo, slug, mission_dir = planned
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    commit_work(workspace, {OWNED["WP01"]: "x = 1\n"}, "owned file")
    wp01 = next((mission_dir / "tasks").glob("WP01-*.md"))
    wp01.write_text("---\ntitle: [unclosed\n---\nbody\n")
    code, refused = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "for_review",
                       "--mission", slug)
    assert code == 1 and refused["error_code"] == "FRONTMATTER_INVALID", refused
    assert refused["file"] == str(wp01)
    code, marked = sk(repo, "agent", "tasks", "mark-status", "T999", "--mission", slug)
    assert code == 1 and marked["error_code"] == "FRONTMATTER_INVALID", marked
    code, forced = sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "for_review",
                      "--force", "--reason", "file fixed later", "--mission", slug)
    assert code == 0 and forced["new_lane"] == "for_review", forced


def test_merge_fails_closed_on_an_unreadable_wp_file(approved_template: Path,
                                                     tmp_path: Path) -> None:
    from execution_helpers import clone_template

    repo, slug, _ = clone_template(approved_template, tmp_path / "copy")
    wp01 = next((repo / "kitty-specs" / slug / "tasks").glob("WP01-*.md"))
    wp01.write_bytes(wp01.read_bytes().replace(b"title:", b"title: [unclosed"))
    code, refused = sk(repo, "merge", "--mission", slug, "--dry-run")
    assert code == 1 and refused["error_code"] == "FRONTMATTER_INVALID", refused
    assert refused["file"] == str(wp01)


def test_bom_in_status_json_and_review_feedback(initialized_repo: Path) -> None:
    """status.json saved with a BOM (and CRLF) is not SNAPSHOT_DRIFT; a feedback file's BOM
    is not part of the stored feedback; a non-UTF-8 feedback file is named."""
    mission = make_mission(initialized_repo)
    assert run_cli(["agent", "status", "materialize", "--json"], initialized_repo).returncode == 0
    snapshot = mission.snapshot_file
    snapshot.write_bytes(BOM + snapshot.read_bytes().replace(b"\n", b"\r\n"))
    proc = run_cli(["agent", "status", "validate", "--json"], initialized_repo)
    report = parse_one_json(proc.stdout)
    assert proc.returncode == 0 and report["ok"] is True, report
    feedback = initialized_repo / "feedback.md"
    feedback.write_bytes(BOM + b"Tests fail on Windows\r\n")
    code, moved = sk(initialized_repo, "agent", "tasks", "move-task", "WP01", "--to", "blocked",
                     "--force", "--review-feedback-file", str(feedback))
    assert code == 0, moved
    stored = (initialized_repo / moved["feedback_path"]).read_bytes()
    assert BOM not in stored and b"Tests fail on Windows" in stored
    timeline = sk(initialized_repo, "agent", "tasks", "status")[1]
    assert timeline["blocked"]["WP01"]["reason"].endswith("Tests fail on Windows")
    feedback.write_bytes(b"caf\xe9\n")
    code, refused = sk(initialized_repo, "agent", "tasks", "move-task", "WP02", "--to",
                       "blocked", "--force", "--review-feedback-file", str(feedback))
    assert code == 1 and refused["error_code"] == "FEEDBACK_FILE_UNREADABLE"
    assert "feedback.md:1: not UTF-8" in refused["error"]


def test_a_non_utf8_config_is_named_when_a_status_write_cannot_commit(
        initialized_repo: Path) -> None:
    """The event is recorded either way; the commit it could not make is said out loud
    (JSON: status_commit.failed and the reason naming the file), never skipped silently."""
    make_mission(initialized_repo)
    config = initialized_repo / ".kittify" / "config.yaml"
    config.write_bytes(config.read_bytes() + b"# caf\xe9\n")
    code, moved = sk(initialized_repo, "agent", "tasks", "move-task", "WP01", "--to",
                     "claimed")
    assert code == 0 and moved["new_lane"] == "claimed", moved
    commit = moved["status_commit"]
    assert commit["committed"] is False and commit["failed"] is True
    assert "config.yaml" in commit["reason"] and "not UTF-8" in commit["reason"]
    for args in (["agent", "tasks", "move-task", "WP01", "--to", "in_progress"],
                 ["agent", "tasks", "mark-status", "T001"]):
        human = run_cli(args, initialized_repo)
        assert human.returncode == 0, human.stderr
        assert "not committed" in human.stderr and "config.yaml" in human.stderr, args
    config.write_bytes(config.read_bytes().replace(b"# caf\xe9\n", b""))
    code, clean = sk(initialized_repo, "agent", "tasks", "move-task", "WP01", "--to",
                     "for_review", "--force", "--reason", "test")
    assert clean["status_commit"]["failed"] is False, clean
