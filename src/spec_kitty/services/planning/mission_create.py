"""``agent mission create``: a new mission folder with identity, metadata and spec.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty import __version__
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo import config, templates
from spec_kitty.repo.jsonio import dumps_pretty
from spec_kitty.repo.missions import EVENTS_FILE, META_FILE, Mission
from spec_kitty.repo.paths import ProjectPaths, is_linked_worktree
from spec_kitty.repo.transaction import FileTransaction

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9]*(-[a-z0-9]+)*$")
LEGACY_NUMBER_RE = re.compile(r"^\d{3}-")
MID8_SUFFIX_RE = re.compile(r"-[0-9A-HJKMNP-TV-Z]{8}$")
# The slug ends up in file and branch names with more around it (``-<8-char id>``,
# ``kitty/mission-…-lane-a``, ``.worktrees/…-lane-a``, ``….status.lock``), and one
# path component may hold at most 255 bytes on common file systems.
SLUG_MAX_LENGTH = 80


@dataclass
class CreateRequest:
    slug: str
    mission_type: str = "software-dev"
    friendly_name: str | None = None
    purpose_tldr: str | None = None
    purpose_context: str | None = None
    target_branch: str | None = None


def _check_slug(raw: str) -> str:
    slug = LEGACY_NUMBER_RE.sub("", raw.strip())
    if MID8_SUFFIX_RE.search(slug):  # already suffixed: keep the human part only
        slug = MID8_SUFFIX_RE.sub("", slug)
    if not SLUG_RE.match(slug):
        raise SpecKittyError(
            f"Invalid mission slug {raw!r}: use lowercase letters, digits and single hyphens "
            "(kebab-case, e.g. 'user-login').",
            "INVALID_SLUG",
        )
    if len(slug) > SLUG_MAX_LENGTH:
        raise SpecKittyError(
            f"Invalid mission slug: {len(slug)} characters, at most {SLUG_MAX_LENGTH} "
            "(it becomes part of directory and branch names).",
            "INVALID_SLUG",
        )
    return slug


def _check_location(project: ProjectPaths, cwd: Path) -> str:
    """Planning happens in the main checkout, on a branch; returns that branch."""
    from spec_kitty.git import repo as git_repo

    if is_linked_worktree(cwd):
        raise SpecKittyError(
            "Missions are created in the main checkout, not inside a worktree.",
            "MISSION_CREATE_IN_WORKTREE",
            hint=f"cd {project.root} and run the command again.",
        )
    if not git_repo.is_work_tree(project.root):
        raise SpecKittyError(f"{project.root} is not a git repository.", "NOT_A_GIT_REPO",
                             hint="Run `git init` and make a first commit.")
    branch = git_repo.current_branch(project.root)
    if branch is None:
        raise SpecKittyError("HEAD is detached; check out a branch before creating a mission.",
                             "DETACHED_HEAD")
    return branch


def _check_type(project: ProjectPaths, mission_type: str) -> None:
    if mission_type not in templates.MISSION_TYPES:
        raise SpecKittyError(
            f"Unknown mission type {mission_type!r}. Known: {', '.join(templates.MISSION_TYPES)}",
            "UNKNOWN_MISSION_TYPE",
        )
    if project.config_file.exists():
        activated = config.load_config(project.config_file).get("mission_type_activations")
        if isinstance(activated, list) and mission_type not in activated:
            raise SpecKittyError(
                f"Mission type {mission_type!r} is not activated in .kittify/config.yaml "
                f"(mission_type_activations: {', '.join(map(str, activated)) or 'none'}).",
                "MISSION_TYPE_NOT_ACTIVATED",
            )


def create_mission(project: ProjectPaths, request: CreateRequest, cwd: Path) -> dict[str, Any]:
    from ulid import ULID

    from spec_kitty.git import repo as git_repo

    slug = _check_slug(request.slug)
    if request.purpose_tldr and "\n" in request.purpose_tldr.strip():
        raise SpecKittyError("--purpose-tldr must be a single line.", "INVALID_PURPOSE")
    current = _check_location(project, cwd)
    _check_type(project, request.mission_type)
    target = request.target_branch or current
    if request.target_branch and not git_repo.branch_exists(project.root, target):
        raise SpecKittyError(f"Target branch {target!r} does not exist.", "TARGET_BRANCH_MISSING")
    spec_template = templates.resolve(project.root, request.mission_type, "spec.md")

    mission_id = str(ULID())
    mission_slug = f"{slug}-{mission_id[:8]}"
    mission = Mission(project.specs_dir / mission_slug)
    friendly = request.friendly_name or slug.replace("-", " ").capitalize()
    created_at = config.utc_now_iso()
    meta = {
        "created_at": created_at,
        "flattened": False,
        "friendly_name": friendly,
        "mission_id": mission_id,
        "mission_number": None,
        "mission_slug": mission_slug,
        "mission_type": request.mission_type,
        "purpose_context": request.purpose_context or "",
        "purpose_tldr": (request.purpose_tldr or "").strip(),
        "slug": slug,
        "target_branch": target,
        "topology": "lanes",
    }
    values = templates.standard_values(mission_slug, friendly, str(meta["purpose_tldr"]))
    files = {
        mission.path / META_FILE: dumps_pretty(meta),
        mission.path / "spec.md": spec_template.render(values),
        mission.path / EVENTS_FILE: "",
        mission.path / "tasks" / ".gitkeep": "",
        mission.path / "checklists" / ".gitkeep": "",
    }
    if request.mission_type == "research":
        files[mission.path / "research" / ".gitkeep"] = ""
    with FileTransaction() as tx:
        for path, text in files.items():
            tx.write(path, text)
    origin = bind_pending_origin(project, mission, mission_id)
    from spec_kitty.services.status import status_observers

    status_observers.notify_mission(project.root, mission_slug)  # MissionCreated
    return {**origin, **{
        "result": "success",
        "mission_slug": mission_slug,
        "mission_id": mission_id,
        "mission_number": None,
        "mission_type": request.mission_type,
        "slug": slug,
        "friendly_name": friendly,
        "purpose_tldr": meta["purpose_tldr"],
        "feature_dir": str(mission.path),
        "spec_file": str(mission.path / "spec.md"),
        "meta_file": str(mission.path / META_FILE),
        "created_at": created_at,
        "created_files": [str(p) for p in files],
        "current_branch": current,
        "target_branch": target,
        "spec_template": spec_template.source,
        "next_step": f"Write {mission.path / 'spec.md'}, then run `spec-kitty agent mission "
        f"spec-commit --mission {mission_slug} --json`.",
        "spec_kitty_version": __version__,
    }}


def bind_pending_origin(project: ProjectPaths, mission: Mission, mission_id: str
                        ) -> dict[str, Any]:
    """Consume ``.kittify/pending-origin.yaml`` left by ``mission create --from-ticket``:
    bind the origin on the hub first, then in ``meta.json`` (tracker reference §5).

    Only with the rollout gate on and the file present; a hub failure is returned as
    ``origin_binding_error`` and never stops the creation.
    """
    from spec_kitty.hosted.gate import is_enabled

    if not (project.kittify / "pending-origin.yaml").exists() or not is_enabled():
        return {}
    from spec_kitty.tracker.origin import bind_origin

    return bind_origin(project.root, mission.path, mission_id, mission.slug) or {}
