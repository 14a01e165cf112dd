"""Issue 9 §1 (review feedback reaches the implementer), §3 (who did what, self-review)
and §9 (next outcomes are visible) through the real CLI."""

from __future__ import annotations

import getpass
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from execution_helpers import OWNED, clone_template, commit_work, implement

from helpers import CLI, git, run_cli
from planning_helpers import sk


@pytest.fixture
def mission(planned_template: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.delenv("SPEC_KITTY_ACTOR", raising=False)
    repo, slug, _ = clone_template(planned_template, tmp_path / "copy")
    return repo, slug


def log_rows(repo: Path, slug: str) -> list[dict]:
    text = (repo / "kitty-specs" / slug / "status.events.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def section(prompt: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", prompt, re.M | re.S)
    assert match, f"no '## {title}' section"
    return match.group(1)


def commands_in(text: str) -> list[str]:
    return [span for span in re.findall(r"`([^`]+)`", text) if span.startswith("spec-kitty ")]


def run_prompt_command(repo: Path, command: str, **fill: str) -> dict:
    for key, value in fill.items():
        command = command.replace(f"<{key}>", value)
    argv = shlex.split(command)
    assert argv[0] == "spec-kitty"
    proc = subprocess.run([str(CLI), *argv[1:]], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
    return json.loads(proc.stdout)


def dashboard(repo: Path) -> Any:
    """The dashboard's API for ``repo``, in process."""
    import warnings

    from spec_kitty.dashboard.api import create_app
    from spec_kitty.dashboard.projects import served_projects

    with warnings.catch_warnings():  # starlette nags about httpx vs httpx2
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        app = create_app(served_projects([repo]), token="0" * 32, watch=False)
        return TestClient(app, base_url="http://127.0.0.1")


def hand_over(repo: Path, slug: str, wp: str, agent: str = "claude") -> str:
    """Implement ``wp`` as ``agent`` by running the commands its prompt gives."""
    claimed = implement(repo, slug, wp, agent)
    commit_work(Path(claimed["workspace_path"]), {OWNED[wp]: f"# {wp}\n"}, f"{wp} work")
    for command in commands_in(section(claimed["prompt"], "When done"))[:2]:
        run_prompt_command(repo, command)
    return claimed["prompt"]


def test_review_feedback_is_stored_shown_and_attributed(mission: tuple[Path, str],
                                                        tmp_path: Path) -> None:
    repo, slug = mission
    hand_over(repo, slug, "WP01")
    review = sk(repo, "agent", "action", "review", "WP01", "--agent", "rev",
                "--mission", slug)[1]
    feedback = tmp_path / "outside-the-repo" / "review.md"
    feedback.parent.mkdir()
    feedback.write_text("Store must survive a missing file.\n\nAdd a test for it.\n")
    send_back = next(c for c in commands_in(section(review["prompt"], "Verdict"))
                     if "--review-feedback-file" in c)
    moved = run_prompt_command(repo, send_back, file=str(feedback))
    stored = f"kitty-specs/{slug}/reviews/WP01-cycle-1.md"
    assert moved["feedback_path"] == stored
    rejection = log_rows(repo, slug)[-1]
    assert (rejection["from_lane"], rejection["to_lane"], rejection["actor"]) == (
        "in_review", "planned", "rev")
    assert rejection["reason"] == "changes requested: Store must survive a missing file."
    assert rejection["review_result"]["feedback_path"] == stored and rejection["at"]
    # Committed with the status, and no host path anywhere in what is committed.
    assert stored in git(repo, "ls-files", f"kitty-specs/{slug}/reviews")
    assert str(tmp_path) not in git(repo, "show", "HEAD")
    assert "Add a test for it." in (repo / stored).read_text()

    code, step = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                    "success")
    assert (step["action"], step["wp_id"]) == ("implement", "WP01")
    assert step["review_feedback"]["reviewer"] == "rev"
    assert "Add a test for it." in step["review_feedback"]["text"]
    prompt = Path(step["prompt_file"]).read_text()
    assert "## Review feedback to address" in prompt and "> Add a test for it." in prompt
    again = implement(repo, slug, "WP01")
    assert "> Store must survive a missing file." in again["prompt"]

    events = dashboard(repo).get(
        f"/api/missions/{slug}/events").json()["events"]
    shown = next(e for e in events if e.get("review") and e["to_lane"] == "planned")
    assert shown["actor"] == "rev" and shown["review"]["verdict"] == "changes_requested"
    assert "Add a test for it." in shown["feedback"]


def test_commands_from_prompts_record_the_agent_not_the_login(
        mission: tuple[Path, str]) -> None:
    repo, slug = mission
    login = getpass.getuser()
    assert login != "claude"
    hand_over(repo, slug, "WP01", "claude")
    rows = [r for r in log_rows(repo, slug) if r["wp_id"] == "WP01" and
            r.get("from_lane") != "genesis"]
    assert len(rows) == 4  # claim (2 hops), the subtask marks, the hand-over to review
    assert {r["actor"] for r in rows} == {"claude"}


def test_self_review_is_flagged_and_can_be_forbidden(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    hand_over(repo, slug, "WP01", "claude")
    hand_over(repo, slug, "WP02", "claude")
    for wp in ("WP03", "WP04"):  # nothing else to implement for claude
        sk(repo, "agent", "tasks", "move-task", wp, "--to", "canceled", "--force", "--reason",
           "not needed", "--actor", "lead", "--mission", slug)
    code, step = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                    "success")
    assert (step["action"], step["self_review"]) == ("review", True)
    assert "self-review" in step["reason"]
    assert "**Self-review:**" in Path(step["prompt_file"]).read_text()
    code, other = sk(repo, "next", "--agent", "codex", "--mission", slug, "--result", "success")
    assert (other["action"], other["self_review"]) == ("review", False)

    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "review:\n  allow_self_review: false\n")
    code, blocked = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                       "success")
    assert code == 1 and blocked["kind"] == "blocked" and blocked["error_code"] == "NEXT_BLOCKED"
    assert any("WP01 awaits review by another agent" in g for g in blocked["guard_failures"])
    code, refused = sk(repo, "agent", "action", "review", "WP01", "--agent", "claude",
                       "--mission", slug)
    assert code == 1 and refused["error_code"] == "SELF_REVIEW_FORBIDDEN"
    code, taken = sk(repo, "agent", "action", "review", "--agent", "codex", "--mission", slug)
    assert code == 0 and taken["wp_id"] == "WP01" and taken["self_review"] is False


def test_result_blocked_is_recorded_and_shown(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    code, step = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                    "success")
    assert step["wp_id"] == "WP01"
    implement(repo, slug, "WP01")
    code, blocked = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                       "blocked", "--reason", "needs the database credentials")
    assert code == 1 and blocked["kind"] == "blocked" and blocked["error_code"] == "NEXT_BLOCKED"
    assert blocked["blocked_wp"] == "WP01" and blocked["blocked_by"] == "agent"
    assert "move-task WP01 --to in_progress" in blocked["remediation"]
    last = log_rows(repo, slug)[-1]
    assert (last["wp_id"], last["from_lane"], last["to_lane"], last["actor"]) == (
        "WP01", "in_progress", "blocked", "claude")
    assert last["reason"] == "needs the database credentials"
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]
    assert board["blocked"]["WP01"]["reason"] == "needs the database credentials"
    human = run_cli(["status", "--mission", slug], repo)
    assert "WP01 is blocked (claude): needs the database credentials" in human.stderr

    dash = dashboard(repo).get(f"/api/missions/{slug}/board").json()
    # One board model (core/status/board.py): columns list card ids, cards sit in work_packages.
    assert any("WP01" in col["wp_ids"] for col in dash["columns"] if col["key"] == "blocked")
    card = next(c for c in dash["work_packages"] if c["id"] == "WP01")
    assert card == next(c for c in board["work_packages"] if c["id"] == "WP01")
    assert card["lane"] == "blocked"
    assert card["blocked_reason"] == "needs the database credentials"


def test_result_failed_counts_attempts_then_escalates(mission: tuple[Path, str]) -> None:
    repo, slug = mission
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "next:\n  max_attempts: 2\n")
    git(repo, "commit", "-qam", "two attempts per step")
    sk(repo, "next", "--agent", "claude", "--mission", slug, "--result", "success")
    code, retry = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                     "failed", "--reason", "tests crashed")
    assert code == 0 and retry["kind"] == "step" and retry["wp_id"] == "WP01"
    assert (retry["attempt"], retry["max_attempts"]) == (1, 2)
    assert log_rows(repo, slug)[-1]["delta"] == {
        "note": "implement failed (attempt 1 of 2): tests crashed"}
    code, escalated = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                         "failed", "--reason", "tests crashed again")
    assert code == 1 and escalated["kind"] == "blocked" and escalated["blocked_by"] == "attempts"
    last = log_rows(repo, slug)[-1]
    assert (last["wp_id"], last["to_lane"]) == ("WP01", "blocked")
    assert "failed 2 times" in last["reason"] and "tests crashed again" in last["reason"]
    code, moved_on = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                        "success")
    assert code == 0 and moved_on["wp_id"] == "WP02"  # the blocked one is not handed out


def test_failed_or_blocked_from_an_agent_never_handed_a_step_is_refused(
        mission: tuple[Path, str]) -> None:
    repo, slug = mission
    state = repo / ".kittify" / "runtime" / "next" / f"{slug}.json"
    for result in ("failed", "blocked"):
        code, answer = sk(repo, "next", "--agent", "gemini", "--mission", slug, "--result",
                          result, "--reason", "confused")
        assert code == 1 and answer["error_code"] == "NO_STEP_TO_REPORT", answer
        assert f"spec-kitty next --agent gemini --mission {slug}" in answer["remediation"]
    assert not state.exists() or "gemini" not in state.read_text()  # no attempt counted
    assert not any(row.get("to_lane") == "blocked" for row in log_rows(repo, slug))
    code, step = sk(repo, "next", "--agent", "gemini", "--mission", slug, "--result",
                    "success")
    assert code == 0 and step["kind"] == "step"  # success still takes the first step


def test_implement_without_an_id_takes_the_next_free_work_package(
        mission: tuple[Path, str]) -> None:
    repo, slug = mission
    procs = [subprocess.Popen([str(CLI), "agent", "action", "implement", "--agent", agent,
                               "--mission", slug, "--json"], cwd=repo, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for agent in ("claude", "codex")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, (out, err)  # the loser of the race does not fail
        results.append(json.loads(out))
    assert sorted(r["wp_id"] for r in results) == ["WP01", "WP02"]
    code, none_left = sk(repo, "agent", "action", "implement", "--agent", "gemini",
                         "--mission", slug)
    assert code == 1 and none_left["error_code"] == "NOTHING_TO_IMPLEMENT"


def test_a_report_on_a_step_another_agent_took_leaves_their_work_alone(
        mission: tuple[Path, str]) -> None:
    """Two agents were handed the same step; the one that lost the claim reports on it."""
    repo, slug = mission
    code, step = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                    "success")
    assert (step["action"], step["wp_id"]) == ("implement", "WP01")
    implement(repo, slug, "WP01", "codex")  # codex claimed it first
    recorded = log_rows(repo, slug)
    code, blocked = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                       "blocked", "--reason", "WP01 was taken")
    assert code == 1 and blocked["kind"] == "blocked" and blocked["blocked_wp"] is None
    assert any("in_progress by codex, not claude" in g for g in blocked["guard_failures"])
    code, failed = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result",
                      "failed", "--reason", "could not start WP01")
    assert code == 0 and (failed["kind"], failed["wp_id"]) == ("step", "WP02")
    assert log_rows(repo, slug) == recorded  # codex's WP01 neither blocked nor annotated
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]["work_packages"]
    assert next(c for c in board if c["id"] == "WP01")["lane"] == "in_progress"


def test_a_hand_made_claim_after_a_review_is_the_new_claimants(
        mission: tuple[Path, str], tmp_path: Path) -> None:
    repo, slug = mission
    hand_over(repo, slug, "WP01", "claude")
    sk(repo, "agent", "action", "review", "WP01", "--agent", "rev", "--mission", slug)
    feedback = tmp_path / "feedback.md"
    feedback.write_text("Not yet.\n")
    assert sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "planned", "--agent", "rev",
              "--review-feedback-file", str(feedback), "--mission", slug)[0] == 0
    assert sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "claimed", "--agent",
              "gemini", "--mission", slug)[0] == 0
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]["work_packages"]
    assert next(c for c in board if c["id"] == "WP01")["agent"] == "gemini"
    code, refused = sk(repo, "agent", "action", "implement", "WP01", "--agent", "claude",
                       "--mission", slug)
    assert code == 1 and refused["error_code"] == "WORK_PACKAGE_CLAIM_CONFLICT"
    assert refused["holder"] == "gemini"
    code, taken = sk(repo, "agent", "action", "implement", "WP01", "--agent", "gemini",
                     "--mission", slug)
    assert code == 0 and taken["lanes_written"] == ["in_progress"]


def test_implement_without_an_id_whose_pick_is_claimed_meanwhile_takes_the_next(
        mission: tuple[Path, str], tmp_path: Path) -> None:
    """The race, made deterministic: while `implement` prepares the worktree of its pick
    (WP01), a git hook lets codex claim WP01 by hand; claude ends up with WP02."""
    repo, slug = mission
    marker = tmp_path / "codex-claimed"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(
        f"#!/bin/sh\n[ -e {shlex.quote(str(marker))} ] && exit 0\n"
        f"touch {shlex.quote(str(marker))}\n"
        f"{shlex.quote(str(CLI))} agent tasks move-task WP01 --to claimed --agent codex "
        f"--mission {slug} --json >/dev/null\n")
    hook.chmod(0o755)
    code, taken = sk(repo, "agent", "action", "implement", "--agent", "claude",
                     "--mission", slug)
    assert marker.exists()  # the hook did race the claim
    assert code == 0 and taken["wp_id"] == "WP02", taken
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]["work_packages"]
    holders = {c["id"]: (c["lane"], c["agent"]) for c in board}
    assert holders["WP01"] == ("claimed", "codex")
    assert holders["WP02"] == ("in_progress", "claude")


def test_the_prompt_says_what_to_do_when_another_agent_claimed_first(
        mission: tuple[Path, str]) -> None:
    """Both agents were handed WP01; the one that lost follows its prompt to new work."""
    repo, slug = mission
    step = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result", "success")[1]
    assert (step["action"], step["wp_id"]) == ("implement", "WP01")
    prompt = Path(step["prompt_file"]).read_text()
    implement(repo, slug, "WP01", "codex")  # codex claimed it first
    start = section(prompt, "Start")
    claim, instead = commands_in(start)
    proc = subprocess.run([str(CLI), *shlex.split(claim)[1:]], cwd=repo, capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error_code"] == "WORK_PACKAGE_CLAIM_CONFLICT"
    assert "WORK_PACKAGE_CLAIM_CONFLICT" in start
    moved_on = run_prompt_command(repo, instead)
    assert (moved_on["kind"], moved_on["action"], moved_on["wp_id"]) == (
        "step", "implement", "WP02")
