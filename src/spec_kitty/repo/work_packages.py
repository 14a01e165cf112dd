"""Work-package files ``tasks/WPnn-*.md``: the metadata in their frontmatter.

Parsing YAML is by far the slowest part of reading a mission, and WP files rarely
change, so parsed metadata is cached per mission under ``.kittify/runtime/cache``
keyed by each file's size, mtime and inode (like git's index). The cache is only
an accelerator: a missing, stale or unwritable cache just means parsing again.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from spec_kitty.core import ids
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo import frontmatter
from spec_kitty.repo.atomic import write_bytes_atomic
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

WP_FILE_RE = re.compile(r"^(WP[_-]?\d+)(?:[-_.].*)?\.md$", re.IGNORECASE)
# Spec Kitty 1.x/2.x kept WP files in one folder per lane; they are still WP files.
LEGACY_LANE_DIRS = ("planned", "doing", "for_review", "done")
CACHE_VERSION = 3
# A file modified this recently may change again within the same mtime tick
# without its size changing; such entries are re-parsed instead of cached.
RACY_WINDOW_NS = 1_000_000_000


@dataclass(frozen=True)
class WorkPackage:
    """A WP file's metadata. ``problem`` (with ``problem_code``) is set when the file
    could not be read; its lists are then empty and **must not** be trusted: callers
    that gate on them use :func:`require_readable`, which fails closed."""

    wp_id: str
    file: str  # path relative to the mission directory
    title: str
    dependencies: list[str] = field(default_factory=list)
    subtasks: list[str] = field(default_factory=list)
    requirement_refs: list[str] = field(default_factory=list)
    owned_files: list[str] = field(default_factory=list)
    execution_mode: str | None = None
    agent: str | None = None
    problem: str | None = None  # set when the frontmatter could not be read
    problem_code: str | None = None
    problem_line: int | None = None
    warnings: list[str] = field(default_factory=list)  # readable, but something was odd


class WorkPackageUnreadable(SpecKittyError):
    def __init__(self, mission: Mission, wp: WorkPackage) -> None:
        super().__init__(
            f"{wp.wp_id}'s file {mission.path / wp.file} cannot be read, so its dependencies "
            f"and owned files are unknown: {wp.problem}",
            wp.problem_code or "WP_FILE_INVALID",
            details={"wp_id": wp.wp_id, "file": str(mission.path / wp.file),
                     "line": wp.problem_line or 1},
            hint="Fix the file (frontmatter between --- lines, UTF-8), then retry.",
        )


def require_readable(mission: Mission, wp: WorkPackage) -> WorkPackage:
    """``wp`` itself, or :class:`WorkPackageUnreadable` naming its file (fail closed)."""
    if wp.problem is not None:
        raise WorkPackageUnreadable(mission, wp)
    return wp


def wp_id_of_file(name: str) -> str | None:
    """``WP01`` for ``WP01-storage.md`` / ``wp1_storage.md``; None for other names."""
    match = WP_FILE_RE.match(name)
    return ids.canonical_wp_id(match.group(1).replace("_", "").replace("-", "")) \
        if match else None


def _optional_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _problem(file_id: str, rel: str, message: str, code: str, line: int = 1,
             ) -> WorkPackage:
    return WorkPackage(file_id, rel, file_id, problem=message, problem_code=code,
                       problem_line=line)


def parse_work_package(path: Path, mission_dir: Path) -> WorkPackage:
    """Read one WP file; an unreadable file gives a WorkPackage with ``problem`` set."""
    file_id = wp_id_of_file(path.name) or path.stem
    rel = str(path.relative_to(mission_dir))
    try:
        meta, body = frontmatter.load_file(path)
    except SpecKittyError as exc:
        return _problem(file_id, rel, exc.message, exc.code, int(exc.details.get("line", 1)))
    title = meta.get("title") or meta.get("work_package_title")
    if not title:
        heading = next((ln for ln in body.splitlines() if ln.startswith("# ")), "")
        title = heading[2:].strip() or file_id
    dependencies = ids.parse_wp_list(meta.get("dependencies"))
    subtasks = ids.parse_subtasks(meta.get("subtasks"))
    agent = meta.get("agent")
    wp = WorkPackage(
        wp_id=ids.canonical_wp_id(meta.get("work_package_id")) or file_id,
        file=rel,
        title=str(title),
        # An entry that is not a WP id stays in the list: the dependency gate then
        # reports it as unknown instead of letting the work package run early.
        dependencies=dependencies.ids + dependencies.invalid,
        subtasks=subtasks.ids,
        requirement_refs=[ids.normalize_requirement_id(r) or r
                          for r in ids.parse_string_list(meta.get("requirement_refs"))],
        owned_files=ids.parse_string_list(meta.get("owned_files")),
        execution_mode=_optional_str(meta.get("execution_mode")),
        agent=_optional_str(ids.agent_tool(agent) if isinstance(agent, dict) else agent),
    )
    notes = []
    if subtasks.invalid:
        notes.append("subtasks entries without a T### id: " + ", ".join(subtasks.invalid))
    if dependencies.invalid:
        notes.append("dependencies that are not work package ids: "
                     + ", ".join(dependencies.invalid))
    return replace(wp, warnings=notes) if notes else wp


def wp_files(mission: Mission) -> list[Path]:
    """WP files in ``tasks/`` (and legacy per-lane folders), ordered by WP id."""
    tasks = mission.tasks_dir
    if not tasks.is_dir():
        return []
    flat = [p for p in tasks.iterdir() if WP_FILE_RE.match(p.name) and p.is_file()]
    seen = {wp_id_of_file(p.name) for p in flat}
    legacy = []
    for lane in LEGACY_LANE_DIRS:
        folder = tasks / lane
        if folder.is_dir():
            for path in folder.iterdir():
                wp_id = wp_id_of_file(path.name)
                if wp_id is not None and wp_id not in seen and path.is_file():
                    seen.add(wp_id)
                    legacy.append(path)
    return sorted(flat + legacy, key=lambda p: (int((wp_id_of_file(p.name) or "WP0")[2:]),
                                                p.name))


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _cache_path(project: ProjectPaths, mission: Mission) -> Path:
    return project.runtime_dir / "cache" / f"{mission.slug}.work-packages.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def load_work_packages(project: ProjectPaths | None, mission: Mission) -> list[WorkPackage]:
    """Every WP file of the mission, in WP-id order (cached when ``project`` is given)."""
    paths = wp_files(mission)
    cache_file = _cache_path(project, mission) if project is not None else None
    cached = _read_cache(cache_file) if cache_file is not None else {}
    fresh: dict[str, Any] = {}
    result = []
    changed = False
    racy_after = time.time_ns() - RACY_WINDOW_NS
    for path in paths:
        key = _stat_key(path)
        name = str(path.relative_to(mission.tasks_dir))
        entry = cached.get(name)
        if entry is not None and entry.get("stat") == key:
            wp = WorkPackage(**entry["data"])
        else:
            wp = parse_work_package(path, mission.path)
            entry = {"stat": key, "data": asdict(wp)}
            changed = True
        if key[1] < racy_after:
            fresh[name] = entry
        result.append(wp)
    if cache_file is not None and (changed or set(fresh) != set(cached)):
        with contextlib.suppress(OSError):
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            payload = {"version": CACHE_VERSION, "files": fresh}
            write_bytes_atomic(cache_file, json.dumps(payload).encode("utf-8"))
    return _flag_duplicates(result)


def _flag_duplicates(wps: list[WorkPackage]) -> list[WorkPackage]:
    """Files that define the same WP id (``WP01-a.md`` and ``WP1-b.md``, or a
    ``work_package_id`` naming another file's WP) all become unreadable: which one
    counts is unknowable, so every command on that WP fails closed naming them."""
    files: dict[str, list[str]] = {}
    for wp in wps:
        files.setdefault(wp.wp_id, []).append(wp.file)
    if all(len(names) == 1 for names in files.values()):
        return wps
    flagged = []
    for wp in wps:
        others = [name for name in files[wp.wp_id] if name != wp.file]
        if others:
            file_id = wp_id_of_file(Path(wp.file).name) or wp.wp_id
            wp = _problem(file_id, wp.file, f"work_package_id {wp.wp_id} is also defined by "
                          f"{', '.join(others)} (one file per work package)", "DUPLICATE_WP")
        flagged.append(wp)
    return flagged
