"""Commit a mission's status files after every status change (auto-commit).

Uncommitted status files are lost to ordinary git use (``git stash``, ``git checkout
-- .``, ``git reset --hard``), so every command that records an event commits the
mission's ``status.events.jsonl`` and ``status.json`` (plus any review feedback it
stored) right after the write: one commit per command, nothing else included, the
user's staged changes left staged. ``agents.auto_commit: false`` in
``.kittify/config.yaml`` turns it off.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

SUBJECT_LIMIT = 100


@dataclass(frozen=True)
class StatusCommit:
    """What auto-commit did: ``sha`` of the commit, or ``reason`` it made none;
    ``failed`` when that reason is a problem to fix (git trouble, an unreadable config),
    not a choice (auto-commit off) or nothing to commit."""

    committed: bool
    sha: str | None = None
    reason: str | None = None
    failed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"committed": self.committed, "sha": self.sha, "reason": self.reason,
                "failed": self.failed}


@cache
def _config(root: Path) -> dict[str, Any]:
    from spec_kitty.repo.config import load_config

    path = root / ".kittify" / "config.yaml"
    if not path.exists():
        return {}
    data = load_config(path)
    return data if isinstance(data, dict) else {}


def setting(project: ProjectPaths, section: str, key: str, default: Any) -> Any:
    """``<section>.<key>`` from ``.kittify/config.yaml``, else ``default``."""
    block = _config(project.root).get(section)
    if isinstance(block, dict) and key in block:
        return block[key]
    return default


def auto_commit_enabled(project: ProjectPaths) -> bool:
    return setting(project, "agents", "auto_commit", True) is not False


def _actor(row: dict[str, Any]) -> str:
    actor = row.get("actor")
    if isinstance(actor, dict):
        actor = actor.get("tool") or actor.get("role")
    return str(actor or "unknown")


def _describe_wp(rows: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    lanes = [rows[0]["from_lane"]] if "to_lane" in rows[0] else []
    for row in rows:
        if "to_lane" in row:
            lanes.append(row["to_lane"])
            continue
        delta = row.get("delta") or {}
        marks = delta.get("subtasks")
        if isinstance(marks, dict):
            by_state: dict[str, list[str]] = {}
            for task, state in marks.items():
                by_state.setdefault(str(state), []).append(str(task))
            parts += [f"{', '.join(tasks)} {state}" for state, tasks in by_state.items()]
        elif delta.get("note"):
            parts.append("note")
    if lanes:
        parts.insert(0, " → ".join(dict.fromkeys(lanes)))
    return " ".join(parts)


def commit_message(mission: Mission, rows: Sequence[dict[str, Any]]) -> str:
    """``status(<slug>): WP01 planned → claimed → in_progress by claude`` plus reasons."""
    by_wp: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_wp.setdefault(str(row.get("wp_id")), []).append(row)
    summary = "; ".join(f"{wp} {_describe_wp(items)}".strip() for wp, items in by_wp.items())
    actors = list(dict.fromkeys(_actor(row) for row in rows))
    subject = f"status({mission.slug}): {summary or 'update'} by {', '.join(actors)}"
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 1] + "…"
    reasons = list(dict.fromkeys(str(row["reason"]) for row in rows if row.get("reason")))
    return subject + ("\n\n" + "\n".join(reasons) if reasons else "")


@contextmanager
def _commit_lock(project: ProjectPaths) -> Iterator[None]:
    from filelock import FileLock

    lock_dir = project.lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_dir / "status-commit.lock"), timeout=60):
        yield


def status_files_pending(project: ProjectPaths, mission: Mission) -> bool:
    """Whether auto-commit is on and the status files differ from ``HEAD``.

    That is what a command killed between its write and its commit leaves; the next
    command on the mission finishes the commit even when it records nothing itself.
    """
    from spec_kitty.git import runner

    if not auto_commit_enabled(project):
        return False
    paths = [str(p.relative_to(project.root)) for p in (mission.events_file,
                                                         mission.snapshot_file)]
    proc = runner.run(["status", "--porcelain", "--untracked-files=all", "--", *paths],
                      project.root, check=False)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def commit_status(project: ProjectPaths, mission: Mission, message: str,
                  extra: Sequence[Path] = (), *, required: bool = False) -> StatusCommit:
    """Commit the mission's status files (and ``extra`` paths) in the main checkout.

    By default it never raises for git trouble: the event is already recorded, so a
    commit that cannot be made is reported (``reason``) and the files stay in the
    working tree. ``required`` (accept and merge bookkeeping, which are commits by
    definition) ignores ``agents.auto_commit`` and raises instead.
    """
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.git import commits
    from spec_kitty.services.faults import crash_point

    root = project.root
    wanted = [mission.events_file, mission.snapshot_file, *extra]
    paths = [str(p.relative_to(root)) for p in wanted]
    try:
        if not required and not auto_commit_enabled(project):
            return StatusCommit(False, reason="auto-commit is off (agents.auto_commit: false)")
        with _commit_lock(project):
            sha = commits.commit_paths_isolated(
                root, paths, message,
                on_locked=lambda: crash_point("status-commit:index-locked"))
    except SpecKittyError as exc:
        if required:
            raise
        # A merge or rebase in progress or a detached HEAD skips the commit by design.
        return StatusCommit(False, reason=exc.message, failed=exc.code != "COMMIT_SKIPPED")
    return StatusCommit(sha is not None, sha, None if sha else "nothing new to commit")
