"""`spec-kitty init` in real temporary git repositories."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from spec_kitty.core.agents import AGENTS, COMMANDS
from spec_kitty.repo import command_files, frontmatter
from spec_kitty.repo.yamlio import load_mapping

from helpers import git, parse_one_json, run_cli


def tree_hashes(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts or not path.is_file():
            continue
        out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize("agent", list(AGENTS))
def test_init_writes_valid_command_files_for_every_agent(git_repo: Path, agent: str) -> None:
    proc = run_cli(["init", ".", "--ai", agent, "--non-interactive", "--json"], git_repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = parse_one_json(proc.stdout)
    assert payload["result"] == "success"
    assert payload["agents"] == [agent]
    spec = AGENTS[agent]
    for command in COMMANDS:
        path = git_repo / spec.relative_path(command)
        assert path.is_file(), path
        text = path.read_text()
        assert "{{AGENT}}" not in text and "{{USER_INPUT}}" not in text
        assert command_files.read_marker(text) is not None
        assert command_files.is_pristine(text)
        if spec.file_format == "toml":
            data = tomllib.loads(text)
            assert data["description"]
            assert "{{args}}" in data["prompt"]
            assert "spec-kitty" in data["prompt"]
        else:
            meta, body = frontmatter.load(text, path)
            assert meta["description"]
            assert "spec-kitty" in body
            if spec.file_format == "skill":
                assert meta["name"] == f"spec-kitty.{command}"
                assert len(meta["description"]) <= 140
                assert meta["user-invocable"] is True
                assert "$ARGUMENTS" not in body
            else:
                assert spec.arg_token in body
        if command in ("implement", "review", "next") and spec.file_format != "skill":
            assert f"--agent {agent}" in text


def test_init_writes_config_metadata_and_git_plumbing(git_repo: Path) -> None:
    proc = run_cli(["init", ".", "--ai", "Claude, codex;claude"], git_repo)
    assert proc.returncode == 0, proc.stderr
    config = load_mapping(git_repo / ".kittify" / "config.yaml")
    assert config["vcs"]["type"] == "git"
    assert list(config["agents"]["available"]) == ["claude", "codex"]
    assert set(config["project"]) >= {"uuid", "slug", "node_id", "build_id"}
    assert config["project"]["slug"] == "repo"
    assert "software-dev" in config["mission_type_activations"]
    metadata = load_mapping(git_repo / ".kittify" / "metadata.yaml")
    assert metadata["spec_kitty"]["schema_version"] == 3
    attributes = (git_repo / ".gitattributes").read_text()
    assert "kitty-specs/**/status.events.jsonl merge=spec-kitty-event-log" in attributes
    assert "kitty-specs/**/status.json merge=spec-kitty-status-json" in attributes
    ignore = (git_repo / ".gitignore").read_text().splitlines()
    assert ".worktrees/" in ignore and ".kittify/runtime/" in ignore
    # Drivers run this interpreter by absolute path: spec-kitty need not be on PATH.
    python = sys.executable
    driver = git(git_repo, "config", "--get", "merge.spec-kitty-event-log.driver")
    assert driver == f"{python} -m spec_kitty merge-driver-event-log %O %A %B"
    driver = git(git_repo, "config", "--get", "merge.spec-kitty-status-json.driver")
    assert driver == f"{python} -m spec_kitty merge-driver-status-json %O %A %B %P"
    # init never touches history or the index.
    assert git(git_repo, "log", "--oneline").count("\n") == 0
    assert git(git_repo, "diff", "--cached", "--name-only") == ""


def test_second_run_changes_nothing_and_says_so(git_repo: Path) -> None:
    assert run_cli(["init", ".", "--ai", "claude,gemini"], git_repo).returncode == 0
    before = tree_hashes(git_repo)
    proc = run_cli(["init", ".", "--ai", "claude,gemini"], git_repo)
    assert proc.returncode == 0
    assert "Already initialized" in proc.stdout
    assert tree_hashes(git_repo) == before
    as_json = parse_one_json(run_cli(["init", ".", "--ai", "gemini", "--json"], git_repo).stdout)
    assert as_json["result"] == "unchanged" and as_json["created"] == []
    assert tree_hashes(git_repo) == before


def test_existing_gitignore_and_gitattributes_are_extended_not_replaced(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("node_modules/\n.worktrees/")
    (git_repo / ".gitattributes").write_text("*.png binary\n")
    assert run_cli(["init", ".", "--ai", "claude"], git_repo).returncode == 0
    ignore = (git_repo / ".gitignore").read_text().splitlines()
    assert ignore[:2] == ["node_modules/", ".worktrees/"]
    assert ignore.count(".worktrees/") == 1
    assert (git_repo / ".gitattributes").read_text().startswith("*.png binary\n")


def test_adding_an_agent_later_keeps_project_identity(git_repo: Path) -> None:
    assert run_cli(["init", ".", "--ai", "claude"], git_repo).returncode == 0
    uuid_before = load_mapping(git_repo / ".kittify/config.yaml")["project"]["uuid"]
    proc = run_cli(["init", ".", "--ai", "cursor", "--json"], git_repo)
    payload = parse_one_json(proc.stdout)
    assert ".kittify/config.yaml" in payload["updated"]
    assert (git_repo / ".cursor/commands/spec-kitty.next.md").exists()
    config = load_mapping(git_repo / ".kittify/config.yaml")
    assert list(config["agents"]["available"]) == ["claude", "cursor"]
    assert config["project"]["uuid"] == uuid_before


def _fake_older_rendering(path: Path) -> None:
    """Rewrite a generated file as a pristine file from an older template."""
    text = path.read_text().replace("drives the whole mission", "drives the mission")
    marker_line = next(line for line in text.splitlines() if "spec-kitty-command-version" in line)
    without = "".join(
        line for line in text.splitlines(keepends=True) if line.rstrip("\n") != marker_line
    )
    digest = hashlib.sha256(without.encode()).hexdigest()[:16]
    old_marker = f"<!-- spec-kitty-command-version: 0.0.1 sha256={digest} -->"
    path.write_text(text.replace(marker_line, old_marker))


def test_force_refreshes_generated_files_but_keeps_user_edits(git_repo: Path) -> None:
    assert run_cli(["init", ".", "--ai", "claude"], git_repo).returncode == 0
    commands = git_repo / ".claude" / "commands"
    own = commands / "my-own-command.md"
    own.write_text("my own prompt\n")
    edited = commands / "spec-kitty.status.md"
    edited.write_text(edited.read_text() + "\nAlways also run the tests.\n")
    foreign = commands / "spec-kitty.merge.md"
    foreign.write_text("a merge prompt I wrote myself\n")
    stale = commands / "spec-kitty.next.md"
    _fake_older_rendering(stale)
    config_before = (git_repo / ".kittify" / "config.yaml").read_text()

    plain = parse_one_json(run_cli(["init", ".", "--ai", "claude", "--json"], git_repo).stdout)
    assert plain["stale"] == [".claude/commands/spec-kitty.next.md"]
    assert "drives the mission" in stale.read_text()  # not refreshed without --force

    proc = run_cli(["init", ".", "--ai", "claude", "--force", "--json"], git_repo)
    assert proc.returncode == 0
    payload = parse_one_json(proc.stdout)
    assert payload["updated"] == [".claude/commands/spec-kitty.next.md"]
    assert "drives the whole mission" in stale.read_text()
    assert own.read_text() == "my own prompt\n"
    assert edited.read_text().endswith("Always also run the tests.\n")
    assert foreign.read_text() == "a merge prompt I wrote myself\n"
    assert payload["kept_user_edited"] == [".claude/commands/spec-kitty.status.md"]
    assert payload["kept_not_ours"] == [".claude/commands/spec-kitty.merge.md"]
    assert (git_repo / ".kittify" / "config.yaml").read_text() == config_before


def test_unknown_agent_lists_valid_keys_and_writes_nothing(git_repo: Path) -> None:
    before = tree_hashes(git_repo)
    proc = run_cli(["init", ".", "--ai", "claude,vim", "--json"], git_repo)
    assert proc.returncode == 1
    payload = parse_one_json(proc.stdout)
    assert payload["error_code"] == "UNKNOWN_AGENT"
    assert payload["unknown"] == ["vim"]
    for key in AGENTS:
        assert key in payload["error"]
    assert tree_hashes(git_repo) == before
    assert not (git_repo / ".kittify").exists()


def test_missing_ai_in_non_interactive_mode(git_repo: Path) -> None:
    proc = run_cli(["init", ".", "--non-interactive"], git_repo)
    assert proc.returncode == 1
    assert "--ai is required" in proc.stderr
    assert not (git_repo / ".kittify").exists()


def test_existing_non_empty_named_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "existing"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    proc = run_cli(["init", "existing", "--ai", "claude", "--json"], tmp_path)
    assert proc.returncode == 1
    assert parse_one_json(proc.stdout)["error_code"] == "TARGET_NOT_EMPTY"
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


def test_named_target_is_created(tmp_path: Path) -> None:
    proc = run_cli(["init", "fresh", "--ai", "claude"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "fresh" / ".kittify" / "config.yaml").is_file()
    assert "not inside a git work tree" in proc.stderr  # warned, not failed
    assert not (tmp_path / "fresh" / ".git").exists()  # never runs git init


def _run_without_override(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Root ignores file modes; drop the override capabilities so they apply again."""
    if os.geteuid() != 0:
        return run_cli(args, cwd)
    drop = "-dac_override,-dac_read_search,-fowner,-linux_immutable"
    return run_cli(args, cwd, prefix=["setpriv", "--bounding-set", drop, "--"])


def test_read_only_directory_is_refused_cleanly(git_repo: Path) -> None:
    before = tree_hashes(git_repo)
    git_repo.chmod(0o555)
    try:
        proc = _run_without_override(["init", ".", "--ai", "claude", "--json"], git_repo)
    finally:
        git_repo.chmod(0o755)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    payload = parse_one_json(proc.stdout)
    assert payload["error_code"] == "NOT_WRITABLE"
    assert "permission denied" in payload["error"]
    assert tree_hashes(git_repo) == before


def test_read_only_agent_directory_leaves_nothing_half_written(git_repo: Path) -> None:
    commands = git_repo / ".claude" / "commands"
    commands.mkdir(parents=True)
    before = tree_hashes(git_repo)
    commands.chmod(0o555)
    try:
        proc = _run_without_override(["init", ".", "--ai", "claude"], git_repo)
    finally:
        commands.chmod(0o755)
    assert proc.returncode == 1
    assert "permission denied" in proc.stderr and "Traceback" not in proc.stderr
    assert str(commands) in proc.stderr
    assert tree_hashes(git_repo) == before
    assert not (git_repo / ".kittify").exists()
