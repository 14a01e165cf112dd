"""`spec-kitty verify-setup` findings and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import git, parse_one_json, run_cli


def test_healthy_project_passes(initialized_repo: Path) -> None:
    proc = run_cli(["verify-setup", "--json"], initialized_repo)
    payload = parse_one_json(proc.stdout)
    assert proc.returncode == 0, payload
    assert payload["ok"] is True
    assert payload["findings"] == []
    names = {c["name"] for c in payload["checks"]}
    assert {"git", "project", "git-repo", "config", "metadata", "agent-files"} <= names
    assert payload["git_version"]


def test_outside_a_project_fails(tmp_path: Path) -> None:
    proc = run_cli(["verify-setup", "--json"], tmp_path)
    assert proc.returncode == 1
    payload = parse_one_json(proc.stdout)
    assert payload["ok"] is False
    finding = next(f for f in payload["findings"] if f["name"] == "project")
    assert "spec-kitty init" in finding["detail"]  # says what to do next


def test_text_columns_line_up(initialized_repo: Path) -> None:
    proc = run_cli(["verify-setup"], initialized_repo)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    assert any(" merge-drivers " in row for row in rows), proc.stdout
    # Every detail starts in the same column, also after the longest name.
    starts = {re.match(r"ok\s+\S+\s+", row).end() for row in rows}  # type: ignore[union-attr]
    assert len(starts) == 1, proc.stdout


def test_missing_and_broken_files_are_reported(initialized_repo: Path) -> None:
    (initialized_repo / ".claude/commands/spec-kitty.next.md").unlink()
    proc = run_cli(["verify-setup"], initialized_repo)
    assert proc.returncode == 1
    assert "1 missing" in proc.stdout and "spec-kitty.next.md" in proc.stdout

    (initialized_repo / ".kittify/config.yaml").write_text("agents: [claude\n")
    payload = parse_one_json(run_cli(["verify-setup", "--json"], initialized_repo).stdout)
    config_finding = next(f for f in payload["findings"] if f["name"] == "config")
    assert "config.yaml:" in config_finding["detail"] and "invalid YAML" in config_finding["detail"]


def test_unregistered_merge_driver_is_a_finding(initialized_repo: Path) -> None:
    git(initialized_repo, "config", "--unset", "merge.spec-kitty-event-log.driver")
    payload = parse_one_json(run_cli(["verify-setup", "--json"], initialized_repo).stdout)
    assert payload["ok"] is False
    assert any("merge driver" in f["detail"] for f in payload["findings"])
