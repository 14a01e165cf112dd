"""Durable merge state (``.kittify/runtime/merge/<mission_id>/state.json``) and the lock.

The state records which phase finished last and the refs as they were before the
merge started, so ``--resume`` can continue after a crash and ``--abort`` can put
every branch back.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

PHASES = ("lanes", "target", "advance", "done", "cleanup", "complete")


@dataclass
class MergeState:
    mission_id: str
    mission_slug: str
    target_branch: str
    mission_branch: str
    strategy: str
    phase: str
    lane_order: list[str]
    pre_target: str
    pre_mission: str | None  # None: the mission branch did not exist before this merge
    workspace: str
    push: bool = False
    lanes_done: list[str] = field(default_factory=list)
    current_lane: str | None = None
    conflicts: list[str] = field(default_factory=list)
    target_base: str | None = None  # target tip the target phase merged into
    new_target: str | None = None
    created_commit: bool = False  # the target phase made a new commit (merge/squash/rebase)
    expected_tree: str | None = None
    archive_ref: str | None = None
    done_wps: list[str] = field(default_factory=list)  # marked done by this merge
    started_at: str = field(default_factory=utc_now_iso)
    updated_at: str = field(default_factory=utc_now_iso)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def state_dir(project: ProjectPaths, mission: Mission) -> Path:
    return project.runtime_dir / "merge" / (mission.mission_id or mission.slug)


def state_file(project: ProjectPaths, mission: Mission) -> Path:
    return state_dir(project, mission) / "state.json"


def load(project: ProjectPaths, mission: Mission) -> MergeState | None:
    path = state_file(project, mission)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SpecKittyError(f"{path} is unreadable ({exc}); inspect it, or delete it to forget "
                             "the interrupted merge.", "MERGE_STATE_CORRUPT") from None
    return MergeState(**data)


def save(project: ProjectPaths, mission: Mission, state: MergeState) -> None:
    state.updated_at = utc_now_iso()
    path = state_file(project, mission)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")


def clear(project: ProjectPaths, mission: Mission) -> None:
    path = state_file(project, mission)
    path.unlink(missing_ok=True)


@contextlib.contextmanager
def merge_lock(project: ProjectPaths) -> Iterator[None]:
    """One merge at a time per repository; released by the kernel if the process dies."""
    from filelock import FileLock, Timeout

    lock_dir = project.lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_dir / "merge.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise MergeLocked() from None
    try:
        yield
    finally:
        lock.release()


class MergeLocked(SpecKittyError):
    def __init__(self) -> None:
        super().__init__("Another spec-kitty merge is running in this repository.",
                         "MERGE_LOCKED", hint="Wait for it to finish, then try again.")
