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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo import frontmatter
from spec_kitty.repo.atomic import write_bytes_atomic
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

WP_FILE_RE = re.compile(r"^(WP\d+)(?:[-_.].*)?\.md$")
CACHE_VERSION = 2
# A file modified this recently may change again within the same mtime tick
# without its size changing; such entries are re-parsed instead of cached.
RACY_WINDOW_NS = 1_000_000_000


@dataclass(frozen=True)
class WorkPackage:
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


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [str(value)]


def _optional_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def parse_work_package(path: Path, mission_dir: Path) -> WorkPackage:
    match = WP_FILE_RE.match(path.name)
    file_id = match.group(1) if match else path.stem
    rel = str(path.relative_to(mission_dir))
    try:
        meta, body = frontmatter.load_file(path)
    except SpecKittyError as exc:
        return WorkPackage(file_id, rel, file_id, problem=exc.message)
    except (OSError, UnicodeDecodeError) as exc:
        return WorkPackage(file_id, rel, file_id, problem=f"{path}: unreadable ({exc})")
    title = meta.get("title") or meta.get("work_package_title")
    if not title:
        heading = next((ln for ln in body.splitlines() if ln.startswith("# ")), "")
        title = heading[2:].strip() or file_id
    agent = meta.get("agent")
    return WorkPackage(
        wp_id=str(meta.get("work_package_id") or file_id),
        file=rel,
        title=str(title),
        dependencies=_string_list(meta.get("dependencies")),
        subtasks=_string_list(meta.get("subtasks")),
        requirement_refs=_string_list(meta.get("requirement_refs")),
        owned_files=_string_list(meta.get("owned_files")),
        execution_mode=_optional_str(meta.get("execution_mode")),
        agent=_optional_str(agent) if not isinstance(agent, dict) else _optional_str(
            agent.get("tool")
        ),
    )


def wp_files(mission: Mission) -> list[Path]:
    tasks = mission.tasks_dir
    if not tasks.is_dir():
        return []
    return sorted(p for p in tasks.iterdir() if WP_FILE_RE.match(p.name) and p.is_file())


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
    """Every WP file of the mission, in file-name order (cached when ``project`` is given)."""
    paths = wp_files(mission)
    cache_file = _cache_path(project, mission) if project is not None else None
    cached = _read_cache(cache_file) if cache_file is not None else {}
    fresh: dict[str, Any] = {}
    result = []
    changed = False
    racy_after = time.time_ns() - RACY_WINDOW_NS
    for path in paths:
        key = _stat_key(path)
        entry = cached.get(path.name)
        if entry is not None and entry.get("stat") == key:
            wp = WorkPackage(**entry["data"])
        else:
            wp = parse_work_package(path, mission.path)
            entry = {"stat": key, "data": asdict(wp)}
            changed = True
        if key[1] < racy_after:
            fresh[path.name] = entry
        result.append(wp)
    if cache_file is not None and (changed or set(fresh) != set(cached)):
        with contextlib.suppress(OSError):
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            payload = {"version": CACHE_VERSION, "files": fresh}
            write_bytes_atomic(cache_file, json.dumps(payload).encode("utf-8"))
    return result
