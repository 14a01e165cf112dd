"""``.kittify/config.yaml`` and ``.kittify/metadata.yaml``."""

from __future__ import annotations

import getpass
import hashlib
import platform
import re
import socket
import uuid
from pathlib import Path
from typing import Any

from spec_kitty import __version__
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo.yamlio import load_mapping

SCHEMA_VERSION = 3
DEFAULT_MISSION_TYPES = ["software-dev", "documentation", "research", "plan"]


def project_slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "project"


def node_id() -> str:
    """A stable, non-identifying id for this machine and user."""
    try:
        user = getpass.getuser()
    except Exception:  # getuser raises various errors when no user name is known
        user = "unknown"
    return hashlib.sha256(f"{socket.gethostname()}:{user}".encode()).hexdigest()[:12]


def new_config(root: Path, agents: list[str]) -> dict[str, Any]:
    return {
        "vcs": {"type": "git"},
        "agents": {"available": list(agents), "auto_commit": True, "lint_on_edit": False},
        "project": {
            "uuid": str(uuid.uuid4()),
            "slug": project_slug(root.name),
            "node_id": node_id(),
            "build_id": str(uuid.uuid4()),
        },
        "mission_type_activations": list(DEFAULT_MISSION_TYPES),
    }


def merge_config(existing: Any, root: Path, agents: list[str]) -> bool:
    """Add what ``init`` requires to an existing config in place; never change set values.

    Returns whether anything was added.
    """
    defaults = new_config(root, agents)
    changed = False
    for key in ("vcs", "project", "agents"):
        section = existing.get(key)
        if not isinstance(section, dict):
            if section is None:
                existing[key] = defaults[key]
                changed = True
            continue
        for sub_key, value in defaults[key].items():
            if sub_key not in section:
                section[sub_key] = value
                changed = True
    agents_section = existing.get("agents")
    available = agents_section.get("available") if isinstance(agents_section, dict) else None
    if isinstance(available, list):
        for agent in agents:
            if agent not in available:
                available.append(agent)
                changed = True
    if "mission_type_activations" not in existing:
        existing["mission_type_activations"] = defaults["mission_type_activations"]
        changed = True
    return changed


def new_metadata() -> dict[str, Any]:
    now = utc_now_iso()
    return {
        "spec_kitty": {
            "schema_version": SCHEMA_VERSION,
            "version": __version__,
            "initialized_at": now,
            "last_upgraded_at": now,
            "schema_capabilities": {
                "event_log_authority": True,
                "ownership_manifest": True,
                "project_command_files": True,
            },
        },
        "environment": {
            "python_version": platform.python_version(),
            "platform": platform.system().lower(),
        },
        "migrations": {"applied": []},
    }


def configured_agents(config: Any) -> list[str]:
    """Agent keys from ``agents.available`` (older projects used ``tools:``)."""
    for section_key in ("agents", "tools"):
        section = config.get(section_key)
        if isinstance(section, dict) and isinstance(section.get("available"), list):
            return [str(a) for a in section["available"]]
    return []


def load_config(path: Path) -> Any:
    return load_mapping(path)
