"""`spec-kitty charter init | show | context` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import parse_one_json, run_cli

CHARTER = Path(".kittify/charter/charter.md")
STATE = Path(".kittify/charter/context-state.json")


def _json(repo: Path, *args: str, expect: int = 0) -> dict:
    proc = run_cli(["charter", *args, "--json"], repo)
    payload = parse_one_json(proc.stdout)
    assert proc.returncode == expect, (proc.returncode, payload, proc.stderr)
    assert "Traceback" not in proc.stderr
    return payload


def _context(repo: Path, action: str, *extra: str) -> dict:
    return _json(repo, "context", "--action", action, *extra)


def _loaded_actions(repo: Path) -> dict:
    return json.loads((repo / STATE).read_text(encoding="utf-8"))["loaded_actions"]


@pytest.fixture
def chartered_repo(initialized_repo: Path) -> Path:
    _json(initialized_repo, "init")
    return initialized_repo


# --- init ------------------------------------------------------------------------


def test_init_writes_the_template_and_refuses_to_overwrite(initialized_repo: Path) -> None:
    first = _json(initialized_repo, "init")
    path = initialized_repo / CHARTER
    assert first == {"result": "success", "charter_path": str(path), "created": True}
    text = path.read_text(encoding="utf-8")
    for heading in ("## Purpose", "## Engineering principles", "## Quality gates",
                    "## For specify", "## For plan", "## For implement", "## For review"):
        assert heading in text

    path.write_text("# My own charter\n", encoding="utf-8")
    refused = _json(initialized_repo, "init", expect=1)
    assert refused["error_code"] == "CHARTER_EXISTS"
    assert "--force" in refused["remediation"]
    assert path.read_text(encoding="utf-8") == "# My own charter\n"

    forced = _json(initialized_repo, "init", "--force")
    assert forced["created"] is False
    assert path.read_text(encoding="utf-8") == text


def test_init_without_json_reports_in_plain_words(initialized_repo: Path) -> None:
    proc = run_cli(["charter", "init"], initialized_repo)
    assert proc.returncode == 0, proc.stderr
    assert "Created the charter" in proc.stdout
    again = run_cli(["charter", "init"], initialized_repo)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr


# --- show ------------------------------------------------------------------------


def test_show_prints_the_charter(chartered_repo: Path) -> None:
    text = (chartered_repo / CHARTER).read_text(encoding="utf-8")
    payload = _json(chartered_repo, "show")
    assert payload == {"charter_path": str(chartered_repo / CHARTER), "present": True,
                       "text": text}
    proc = run_cli(["charter", "show"], chartered_repo)
    assert proc.returncode == 0
    assert proc.stdout == text


def test_show_without_a_charter_fails_with_a_hint(initialized_repo: Path) -> None:
    payload = _json(initialized_repo, "show", expect=1)
    assert payload["error_code"] == "CHARTER_MISSING"
    assert payload["remediation"] == "spec-kitty charter init"

    proc = run_cli(["charter", "show"], initialized_repo)
    assert proc.returncode == 1
    assert "spec-kitty charter init" in proc.stderr and proc.stdout == ""


def test_a_charter_that_is_not_utf8_is_reported_by_name(chartered_repo: Path) -> None:
    (chartered_repo / CHARTER).write_bytes(b"# Charter\n\xff\xfe broken\n")
    for args in (("show",), ("context", "--action", "plan")):
        payload = _json(chartered_repo, *args, expect=1)
        assert payload["error_code"] == "FILE_NOT_UTF8"
        assert str(chartered_repo / CHARTER) in payload["error"]
        assert payload["file"] == str(chartered_repo / CHARTER) and payload["line"] == 2


# --- context ---------------------------------------------------------------------


def test_first_load_bootstraps_then_later_loads_are_compact(chartered_repo: Path) -> None:
    assert not (chartered_repo / STATE).exists()

    first = _context(chartered_repo, "specify")
    assert first["mode"] == "bootstrap" and first["present"] is True
    assert first["action"] == "specify"
    assert first["charter_path"] == str(chartered_repo / CHARTER)
    assert f"Read the whole project charter at {chartered_repo / CHARTER}" in first["text"]
    assert "## Purpose" in first["text"] and "## Quality gates" in first["text"]
    assert "## For specify" in first["text"]
    assert "## For plan" not in first["text"]
    assert set(_loaded_actions(chartered_repo)) == {"specify"}

    second = _context(chartered_repo, "specify")
    assert second["mode"] == "compact"
    assert second["text"].startswith("## For specify")
    assert "## Purpose" not in second["text"]

    # Each governed action gets its own bootstrap.
    plan = _context(chartered_repo, "plan")
    assert plan["mode"] == "bootstrap" and "## For plan" in plan["text"]
    assert set(_loaded_actions(chartered_repo)) == {"specify", "plan"}


def test_state_file_is_sorted_json_with_utc_times(chartered_repo: Path) -> None:
    _context(chartered_repo, "review")
    _context(chartered_repo, "implement")
    raw = (chartered_repo / STATE).read_text(encoding="utf-8")
    loaded = json.loads(raw)["loaded_actions"]
    assert list(loaded) == ["implement", "review"]
    assert all(stamp.endswith("+00:00") for stamp in loaded.values())
    assert raw == json.dumps(json.loads(raw), indent=2, sort_keys=True) + "\n"


def test_no_mark_loaded_leaves_the_state_file_untouched(chartered_repo: Path) -> None:
    _context(chartered_repo, "specify")
    before = (chartered_repo / STATE).read_bytes()

    peek = _context(chartered_repo, "implement", "--no-mark-loaded")
    assert peek["mode"] == "bootstrap"
    assert (chartered_repo / STATE).read_bytes() == before
    # Not recorded, so the real first load is still a bootstrap.
    assert _context(chartered_repo, "implement")["mode"] == "bootstrap"
    assert (chartered_repo / STATE).read_bytes() != before


def test_no_mark_loaded_does_not_create_the_state_file(chartered_repo: Path) -> None:
    _context(chartered_repo, "review", "--no-mark-loaded")
    assert not (chartered_repo / STATE).exists()


@pytest.mark.parametrize("action", ["tasks", "accept", "merge"])
def test_ungoverned_actions_are_always_compact(chartered_repo: Path, action: str) -> None:
    for _ in range(2):
        payload = _context(chartered_repo, action)
        assert payload["mode"] == "compact"
        assert str(chartered_repo / CHARTER) in payload["text"]
        assert "\n" not in payload["text"]  # the one-line pointer, not the charter
    assert not (chartered_repo / STATE).exists()


def test_unknown_action_is_a_usage_error(chartered_repo: Path) -> None:
    payload = _json(chartered_repo, "context", "--action", "deploy", expect=2)
    assert payload["error_code"] == "USAGE_ERROR"
    assert "deploy" in payload["error"]
    proc = run_cli(["charter", "context", "--action", "deploy"], chartered_repo)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_missing_charter_never_blocks_an_agent(initialized_repo: Path) -> None:
    payload = _context(initialized_repo, "implement")
    assert payload["present"] is False and payload["mode"] == "none"
    assert "no charter" in payload["text"]
    # Nothing is recorded, so creating a charter later still gives a bootstrap.
    assert not (initialized_repo / STATE).exists()

    proc = run_cli(["charter", "context", "--action", "implement"], initialized_repo)
    assert proc.returncode == 0 and "no charter" in proc.stdout


def test_context_returns_the_users_own_rules(chartered_repo: Path) -> None:
    (chartered_repo / CHARTER).write_text(
        "# Team charter\n\nShip carefully.\n\n"
        "## For implement\n\n- Pair on every database migration.\n\n"
        "### Style\n\n```md\n## For review\nnot a heading inside a fence\n```\n\n"
        "## For review\n\n- Two approvals.\n\n"
        "## Appendix\n\nNot for agents.\n",
        encoding="utf-8",
    )
    boot = _context(chartered_repo, "implement")
    assert boot["mode"] == "bootstrap"
    assert "Ship carefully." in boot["text"]
    assert "- Pair on every database migration." in boot["text"]
    assert "Two approvals" not in boot["text"] and "Appendix" not in boot["text"]

    compact = _context(chartered_repo, "implement")
    assert compact["text"] == (
        "## For implement\n\n- Pair on every database migration.\n\n"
        "### Style\n\n```md\n## For review\nnot a heading inside a fence\n```"
    )
    proc = run_cli(["charter", "context", "--action", "implement"], chartered_repo)
    assert proc.stdout == compact["text"] + "\n"

    review = _context(chartered_repo, "review", "--no-mark-loaded")
    assert review["text"].endswith("## For review\n\n- Two approvals.")


def test_governed_action_without_a_section_gets_a_pointer(chartered_repo: Path) -> None:
    (chartered_repo / CHARTER).write_text("# Charter\n\n- Be kind.\n", encoding="utf-8")
    boot = _context(chartered_repo, "plan")
    assert boot["mode"] == "bootstrap" and "- Be kind." in boot["text"]
    compact = _context(chartered_repo, "plan")
    assert compact["mode"] == "compact"
    assert compact["text"] == (
        f"The project charter at {chartered_repo / CHARTER} has no rules specific to plan; "
        "its general rules still apply."
    )


def test_damaged_state_file_means_bootstrap_again(chartered_repo: Path) -> None:
    (chartered_repo / STATE).write_text("{not json", encoding="utf-8")
    assert _context(chartered_repo, "specify")["mode"] == "bootstrap"
    assert set(_loaded_actions(chartered_repo)) == {"specify"}


def test_outside_a_project_is_an_error_not_a_crash(tmp_path: Path) -> None:
    payload = parse_one_json(run_cli(["charter", "context", "--action", "plan", "--json"],
                                     tmp_path).stdout)
    assert payload["error_code"] == "PROJECT_NOT_FOUND"
