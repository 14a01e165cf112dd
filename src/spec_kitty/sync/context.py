"""The ``EnvelopeContext`` of a project: identity, team and git position.

Project identity is the ``project:`` section of ``.kittify/config.yaml`` (``uuid``,
``slug``, ``build_id``, optional ``repo_slug``; reference §7). A project without a
``uuid`` cannot sync: its events would have no home on the hub. The git branch and
head commit are read straight from ``.git`` (HEAD, loose refs, packed-refs) rather
than by running git, because this runs after every status write. ``repo_slug`` falls
back to ``owner/name`` of the ``origin`` remote in ``.git/config``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.sync.envelope import EnvelopeContext
from spec_kitty.hosted.runtime import RuntimePaths, ensure_private_dir
from spec_kitty.repo.paths import ProjectPaths, git_common_dir
from spec_kitty.sync.clock import machine_node_id

_SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_REMOTE_RE = re.compile(r"[:/]([^/:]+/[^/]+?)(?:\.git)?/?$")


class ProjectIdentityMissing(SpecKittyError):
    """``.kittify/config.yaml`` has no usable ``project.uuid`` (``PROJECT_IDENTITY_MISSING``)."""

    def __init__(self, config_file: Path) -> None:
        super().__init__(f"{config_file}: project.uuid is missing or not a UUID, so this "
                         "project's events have no home on the hub.",
                         "PROJECT_IDENTITY_MISSING", details={"file": str(config_file)},
                         hint="Run `spec-kitty init` in the project to add its identity.")


def _git_dir(root: Path) -> Path | None:
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    path = Path(text.split(":", 1)[1].strip())
    return path if path.is_absolute() else (root / path).resolve()


def _resolve_ref(common: Path, ref: str) -> str | None:
    try:
        value = (common / ref).read_text(encoding="utf-8").strip()
        return value if _SHA_RE.match(value) else None
    except OSError:
        pass
    try:
        packed = (common / "packed-refs").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name == ref and _SHA_RE.match(sha):
            return sha
    return None


def git_position(root: Path) -> tuple[str | None, str | None]:
    """``(branch, head commit)`` of the checkout at ``root``; ``None`` for what is unknown.

    A detached HEAD gives ``(None, sha)``; a branch without commits ``(branch, None)``.
    """
    git_dir = _git_dir(root)
    if git_dir is None:
        return None, None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None, None
    if not head.startswith("ref:"):
        return None, head if _SHA_RE.match(head) else None
    ref = head[4:].strip()
    branch = ref.removeprefix("refs/heads/")
    sha = _resolve_ref(git_dir, ref)
    if sha is None:
        common = git_common_dir(root)
        sha = _resolve_ref(common, ref) if common is not None else None
    return branch, sha


def origin_repo_slug(root: Path) -> str | None:
    """``owner/name`` of the ``origin`` remote, read from the git config file."""
    common = git_common_dir(root)
    try:
        text = ((common or root / ".git") / "config").read_text(encoding="utf-8")
    except OSError:
        return None
    section = re.search(r'\[remote "origin"\]([^\[]*)', text)
    url = re.search(r"^\s*url\s*=\s*(\S+)", section.group(1), re.M) if section else None
    found = _REMOTE_RE.search(url.group(1)) if url else None
    return found.group(1) if found else None


_IDENTITY_KEYS = ("uuid", "slug", "build_id", "repo_slug")


def _parse_identity(project: ProjectPaths) -> dict[str, Any]:
    from spec_kitty.repo.config import load_config

    config = load_config(project.config_file) if project.config_file.exists() else {}
    section = config.get("project") if isinstance(config, dict) else None
    section = section if isinstance(section, dict) else {}
    identity = {key: str(section[key]) for key in _IDENTITY_KEYS
                if isinstance(section.get(key), str | int) and not isinstance(
                    section.get(key), bool)}
    try:
        identity["uuid"] = str(uuid.UUID(identity.get("uuid", "")))
    except ValueError:
        raise ProjectIdentityMissing(project.config_file) from None
    return identity


def project_identity(project: ProjectPaths,
                     paths: RuntimePaths | None = None) -> dict[str, str]:
    """``uuid``, ``slug``, ``build_id``, ``repo_slug`` of ``.kittify/config.yaml`` (the
    ones present), ``uuid`` always valid.

    Parsing YAML costs milliseconds, more than a status write may spend on sync, so with
    ``paths`` the result is kept in ``<runtime>/queues/projects.json`` keyed by the config
    file's path, size and modification time. Raises :class:`ProjectIdentityMissing`.
    """
    if paths is None:
        return _parse_identity(project)
    try:
        info = project.config_file.stat()
    except OSError:
        raise ProjectIdentityMissing(project.config_file) from None
    key, stamp = str(project.config_file), [info.st_size, info.st_mtime_ns]
    cache_file = paths.root / "queues" / "projects.json"
    try:
        cache = json.loads(cache_file.read_bytes())
        entry = cache.get(key) if isinstance(cache, dict) else None
    except (OSError, ValueError):
        cache, entry = {}, None
    if isinstance(entry, dict) and entry.get("stat") == stamp and isinstance(
            entry.get("identity"), dict):
        return {str(k): str(v) for k, v in entry["identity"].items()}
    identity = _parse_identity(project)
    cache = cache if isinstance(cache, dict) else {}
    cache[key] = {"stat": stamp, "identity": identity}
    with contextlib.suppress(OSError):
        ensure_private_dir(cache_file.parent)
        temp = cache_file.with_name(f".projects.{os.getpid()}.tmp")
        temp.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(temp, cache_file)
    return identity


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def envelope_context(project: ProjectPaths, team_slug: str | None,
                     paths: RuntimePaths | None = None) -> EnvelopeContext:
    """The context every envelope of this project carries (see the module docstring).

    ``paths`` enables the identity cache of :func:`project_identity`.
    """
    identity = project_identity(project, paths)
    node_id = machine_node_id()
    build_id = _text(identity.get("build_id")) or str(uuid.uuid5(
        uuid.uuid5(uuid.NAMESPACE_URL, "spec-kitty:identity:build_id"),
        f"{identity['uuid']}:{node_id}"))
    branch, sha = git_position(project.root)
    return EnvelopeContext(
        build_id=build_id, node_id=node_id, project_uuid=identity["uuid"],
        team_slug=team_slug if team_slug and team_slug != "no-team" else None,
        project_slug=_text(identity.get("slug")) or project.root.name,
        git_branch=branch, head_commit_sha=sha,
        repo_slug=_text(identity.get("repo_slug")) or origin_repo_slug(project.root))
