"""Envelope context (project identity, git position) and lifecycle envelopes from disk."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from spec_kitty.core.sync.envelope import MISSION_ACCEPTED, MISSION_MERGED
from spec_kitty.core.sync.schemas import envelope_problems
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.sync import categories
from spec_kitty.sync.context import (
    ProjectIdentityMissing,
    envelope_context,
    git_position,
    origin_repo_slug,
    project_identity,
)
from spec_kitty.sync.emitter import mission_envelopes

from helpers import git, make_git_repo, run_cli
from planning_helpers import plan_mission


def test_git_position_reads_loose_packed_detached_and_worktree_heads(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    assert git_position(repo) == ("main", head)
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert git_position(repo) == ("main", head)
    git(repo, "worktree", "add", "-q", "-b", "lane-a", str(tmp_path / "wt"))
    assert git_position(tmp_path / "wt") == ("lane-a", head)
    git(repo, "checkout", "-q", "--detach")
    assert git_position(repo) == (None, head)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "trunk")
    assert git_position(fresh) == ("trunk", None)
    assert git_position(tmp_path / "nowhere") == (None, None)


@pytest.mark.parametrize("url,slug", [
    ("git@github.com:acme/todo-app.git", "acme/todo-app"),
    ("https://gitlab.example.com/group/todo.git", "group/todo"),
    ("https://github.com/acme/todo", "acme/todo"),
])
def test_repo_slug_from_origin(tmp_path: Path, url: str, slug: str) -> None:
    repo = make_git_repo(tmp_path / "repo")
    assert origin_repo_slug(repo) is None
    git(repo, "remote", "add", "origin", url)
    assert origin_repo_slug(repo) == slug


def test_identity_is_cached_and_a_missing_uuid_is_an_error(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    project = ProjectPaths(repo)
    paths = RuntimePaths(tmp_path / "home")
    with pytest.raises(ProjectIdentityMissing):
        project_identity(project, paths)
    project.kittify.mkdir()
    project.config_file.write_text("project:\n  uuid: not-a-uuid\n")
    with pytest.raises(ProjectIdentityMissing) as info:
        project_identity(project, paths)
    assert info.value.code == "PROJECT_IDENTITY_MISSING"
    value = str(uuid.uuid4())
    project.config_file.write_text(f"project:\n  uuid: {value}\n  slug: demo\n")
    assert project_identity(project, paths) == {"uuid": value, "slug": "demo"}
    cache = json.loads((paths.root / "queues" / "projects.json").read_text())
    assert cache[str(project.config_file)]["identity"]["uuid"] == value
    context = envelope_context(project, "no-team", paths)
    assert context.team_slug is None and context.project_slug == "demo"
    assert uuid.UUID(context.build_id)  # derived from uuid and node id when not configured
    assert context.build_id == envelope_context(project, None, paths).build_id


def test_accepted_and_merged_missions_give_lifecycle_envelopes(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    assert run_cli(["init", ".", "--ai", "claude", "--non-interactive"], repo).returncode == 0
    mission_dir = plan_mission(repo)
    meta = json.loads((mission_dir / "meta.json").read_text())
    meta.update(accepted_at="2026-11-29T11:00:00+00:00", accepted_by="claude",
                acceptance_history=[{"accepted_at": "2026-11-29T10:00:00+00:00",
                                     "accepted_by": "codex"},
                                    {"accepted_at": "2026-11-29T11:00:00+00:00",
                                     "accepted_by": "claude"}],
                merged_at="2026-11-29T12:00:00+00:00", merged_into="main",
                merge_commit="b" * 40, mission_number="7")
    (mission_dir / "meta.json").write_text(json.dumps(meta))
    envelopes = mission_envelopes(ProjectPaths(repo), mission_dir.name, "acme")
    assert all(envelope_problems(env) == [] for env in envelopes)
    kinds = [env["event_type"] for env in envelopes]
    assert kinds[0] == "MissionCreated" and kinds[-3:] == [MISSION_ACCEPTED] * 2 + [
        MISSION_MERGED]
    merged = envelopes[-1]
    assert merged["payload"]["mission_number"] == 7 and merged["payload"]["merge_commit"] == \
        "b" * 40
    again = mission_envelopes(ProjectPaths(repo), mission_dir.name, "acme")
    assert [e["event_id"] for e in again] == [e["event_id"] for e in envelopes]


@pytest.mark.parametrize("message,code,category", [
    ("Payload too large", "", "oversized_batch"), ("", "oversized_event", "oversized_event"),
    ("Too Many Requests", "", "throttled"), ("payload.to_lane: invalid", "", "schema_mismatch"),
    ("token expired", "", "auth_expired"), ("team_forbidden", "", "direct_ingress_missing_private_team"),
    ("connection reset", "", "retryable_transport"), ("Internal Server Error", "", "server_error"),
    ("???", "", "unknown")])
def test_categories(message: str, code: str, category: str) -> None:
    assert categories.categorize(message, code) == category
    assert category in categories.HINTS


def test_whole_batch_statuses() -> None:
    assert [categories.category_of_status(s) for s in (0, 401, 403, 413, 429, 502, 418)] == [
        "retryable_transport", "auth_expired", "direct_ingress_missing_private_team",
        "oversized_batch", "throttled", "server_error", "unknown"]
