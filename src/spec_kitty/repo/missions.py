"""Missions on disk: ``kitty-specs/<slug>/`` with ``meta.json`` and the status log.

A mission is addressed by its directory name (the slug, e.g. ``todo-01J6XW9K``),
by its full ``mission_id`` ULID, by the first 8 characters of that ULID (mid8), or
by a prefix of the slug that matches exactly one mission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.jsonio import read_json_object
from spec_kitty.repo.paths import ProjectPaths

META_FILE = "meta.json"
EVENTS_FILE = "status.events.jsonl"
SNAPSHOT_FILE = "status.json"
LANES_FILE = "lanes.json"
_LOGGED_ID_RE = re.compile(rb'"mission_id"\s*:\s*"([0-9A-HJKMNP-TV-Z]{26})"')


@dataclass(frozen=True)
class Mission:
    path: Path

    @property
    def slug(self) -> str:
        return self.path.name

    @cached_property
    def meta(self) -> dict[str, Any]:
        """meta.json's object; ``{}`` when the file is missing (see :attr:`warnings`).

        Raises ``JSON_INVALID`` / ``FILE_NOT_UTF8`` naming the file when it is unreadable.
        """
        meta_path = self.path / META_FILE
        return read_json_object(meta_path) if meta_path.exists() else {}

    @property
    def meta_missing(self) -> bool:
        return not (self.path / META_FILE).exists()

    @cached_property
    def mission_id(self) -> str | None:
        """The ULID from meta.json; for a mission whose meta.json lost it (or is missing),
        recovered from lanes.json or from the rows of its own event log."""
        value = self.meta.get("mission_id")
        if isinstance(value, str) and value:
            return value
        return self.recovered_mission_id

    @cached_property
    def recovered_mission_id(self) -> str | None:
        """The mission id other files of the mission record, or None."""
        try:
            lanes = read_json_object(self.lanes_file) if self.lanes_file.exists() else {}
        except SpecKittyError:
            lanes = {}
        if isinstance(lanes.get("mission_id"), str) and lanes["mission_id"]:
            return str(lanes["mission_id"])
        try:
            data = self.events_file.read_bytes()
        except OSError:
            return None
        match = _LOGGED_ID_RE.search(data)
        return match.group(1).decode() if match else None

    def warnings(self) -> list[str]:
        """Problems with the mission's identity a person should see (never raised)."""
        if self.meta_missing:
            found = self.recovered_mission_id
            return [f"{self.path / META_FILE} is missing: the mission's type, target branch "
                    "and name are unknown"
                    + (f" (mission_id {found} recovered from its files)" if found else "")]
        try:
            meta = self.meta
        except SpecKittyError as exc:
            return [exc.message]
        if not meta.get("mission_id"):
            found = self.recovered_mission_id
            return [f"{self.path / META_FILE} has no mission_id"
                    + (f"; using {found} recorded in the mission's files" if found else "")]
        return []

    @property
    def mid8(self) -> str | None:
        return self.mission_id[:8] if self.mission_id else None

    @property
    def mission_number(self) -> Any:
        return self.meta.get("mission_number")

    @property
    def mission_type(self) -> str | None:
        value = self.meta.get("mission_type")
        return value if isinstance(value, str) else None

    @property
    def friendly_name(self) -> str:
        value = self.meta.get("friendly_name")
        return value if isinstance(value, str) and value else self.slug

    @property
    def events_file(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def snapshot_file(self) -> Path:
        return self.path / SNAPSHOT_FILE

    @property
    def tasks_dir(self) -> Path:
        return self.path / "tasks"

    @property
    def lanes_file(self) -> Path:
        return self.path / LANES_FILE


class MissionNotFound(SpecKittyError):
    def __init__(self, handle: str, available: list[str]) -> None:
        listing = ", ".join(available) if available else "none"
        super().__init__(
            f"No mission matches {handle!r}. Missions: {listing}",
            "MISSION_NOT_FOUND",
            details={"handle": handle, "available": available},
        )


class MissionAmbiguous(SpecKittyError):
    def __init__(self, handle: str, candidates: list[str]) -> None:
        super().__init__(
            f"{handle!r} matches several missions: {', '.join(candidates)}. "
            "Pass the full slug or the mission id.",
            "MISSION_AMBIGUOUS_SELECTOR",
            details={"handle": handle, "candidates": candidates},
        )


class MissionRequired(SpecKittyError):
    def __init__(self, available: list[str], hint: str | None = None) -> None:
        listing = ", ".join(available) if available else "none yet"
        super().__init__(
            f"Several missions exist; pass --mission. Missions: {listing}"
            if available
            else "No missions exist yet.",
            "MISSION_REQUIRED" if available else "NO_MISSIONS",
            details={"available": available},
            hint=hint,
        )


def _lane_worktree_hint(project: ProjectPaths, slugs: list[str]) -> str | None:
    """When the cwd is inside ``.worktrees/<mission>-<lane>/``, name that mission.

    Only a hint: the selection rule stays "--mission, or the only mission".
    """
    try:
        rel = Path.cwd().resolve().relative_to(project.worktrees_dir.resolve())
    except (OSError, ValueError):
        return None
    if not rel.parts:
        return None
    name = rel.parts[0]
    owners = [slug for slug in slugs if name.startswith(f"{slug}-")]
    if not owners:
        return None
    slug = max(owners, key=len)  # "app-x" and "app-x-2": the longer one is exact
    return f"You are in {name}, a lane worktree of {slug}: pass --mission {slug}."


def list_missions(project: ProjectPaths) -> list[Mission]:
    specs = project.specs_dir
    if not specs.is_dir():
        return []
    found = []
    for child in sorted(specs.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if (child / META_FILE).exists() or (child / EVENTS_FILE).exists():
            found.append(Mission(child))
    return found


def _mid8_of(mission: Mission) -> str | None:
    """mid8 from meta.json, else from a ``-XXXXXXXX`` slug suffix (cheap: no file read)."""
    try:
        if mission.mid8:
            return mission.mid8.upper()
    except SpecKittyError:
        pass
    tail = mission.slug.rsplit("-", 1)[-1]
    return tail.upper() if len(tail) == 8 else None


def select_mission(project: ProjectPaths, handle: str | None) -> Mission:
    missions = list_missions(project)
    slugs = [m.slug for m in missions]
    if handle is None or not handle.strip():
        if len(missions) == 1:
            return missions[0]
        raise MissionRequired(slugs, _lane_worktree_hint(project, slugs) if slugs else None)
    handle = handle.strip().rstrip("/")
    handle = Path(handle).name if "/" in handle else handle
    for mission in missions:
        if mission.slug == handle:
            return mission
    upper = handle.upper()
    if len(handle) == 26:
        by_id = [m for m in missions if (m.mission_id or "").upper() == upper]
        if len(by_id) == 1:
            return by_id[0]
    if len(handle) == 8:
        by_mid8 = [m for m in missions if _mid8_of(m) == upper]
        if len(by_mid8) == 1:
            return by_mid8[0]
        if len(by_mid8) > 1:
            raise MissionAmbiguous(handle, [m.slug for m in by_mid8])
    by_prefix = [m for m in missions if m.slug.startswith(handle)]
    if len(by_prefix) == 1:
        return by_prefix[0]
    if len(by_prefix) > 1:
        raise MissionAmbiguous(handle, [m.slug for m in by_prefix])
    raise MissionNotFound(handle, slugs)
