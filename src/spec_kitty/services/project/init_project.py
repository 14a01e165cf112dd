"""``spec-kitty init``: set up ``.kittify/``, git plumbing and agent command files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty import __version__
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo import command_files, config
from spec_kitty.repo.command_files import FileState
from spec_kitty.repo.paths import KITTIFY
from spec_kitty.repo.transaction import FileTransaction
from spec_kitty.repo.yamlio import dumps

EVENT_LOG_DRIVER = "spec-kitty-event-log"

GITIGNORE_LINES = (
    ".worktrees/",
    ".kittify/runtime/",
    ".kittify/workspaces/",
    ".kittify/.dashboard",
    ".kittify/charter/context-state.json",
)
MANAGED_BLOCK_HEADER = "# spec-kitty"


@dataclass
class InitReport:
    root: Path
    agents: list[str]
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    kept_foreign: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    already_initialized: bool = False
    merge_driver_registered: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.merge_driver_registered)

    def to_json(self) -> dict[str, Any]:
        return {
            "result": "success" if self.changed else "unchanged",
            "project_root": str(self.root),
            "agents": self.agents,
            "already_initialized": self.already_initialized,
            "created": self.created,
            "updated": self.updated,
            "kept_user_edited": self.kept_edited,
            "kept_not_ours": self.kept_foreign,
            "stale": self.stale,
            "merge_driver_registered": self.merge_driver_registered,
            "warnings": self.warnings,
            "spec_kitty_version": __version__,
        }


class TargetNotEmpty(SpecKittyError):
    def __init__(self, target: Path) -> None:
        super().__init__(
            f"Target directory {target} already exists and is not empty.",
            "TARGET_NOT_EMPTY",
            hint=f"To set up an existing repository run `spec-kitty init .` inside {target}.",
        )


class NotWritable(SpecKittyError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Cannot write to {path}: permission denied. Nothing was changed.",
            "NOT_WRITABLE",
        )


def _lines_to_add(path: Path, wanted: tuple[str, ...]) -> tuple[str, list[str]]:
    from spec_kitty.repo.textio import read_text_if_exists

    text = read_text_if_exists(path) or ""
    present = {line.strip() for line in text.splitlines()}
    return text, [line for line in wanted if line not in present]


def _append_block(text: str, lines: list[str]) -> str:
    prefix = text
    if prefix and not prefix.endswith("\n"):
        prefix += "\n"
    if prefix:
        prefix += "\n"
    return prefix + MANAGED_BLOCK_HEADER + "\n" + "\n".join(lines) + "\n"


def _nearest_existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _check_writable(paths: list[Path]) -> None:
    """Refuse up front, before any write, when a file could not be placed."""
    for path in paths:
        directory = _nearest_existing(path.parent)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise NotWritable(directory)


def configured_agents(target: Path) -> list[str]:
    """The agents an initialised project at ``target`` already names (``[]`` when it is
    not initialised): re-running ``init`` in a fresh clone needs no ``--ai``."""
    config_file = target / KITTIFY / "config.yaml"
    if not config_file.exists():
        return []
    return list(config.configured_agents(config.load_config(config_file)) or [])


def _plan_config(root: Path, agents: list[str], report: InitReport) -> dict[Path, str]:
    writes: dict[Path, str] = {}
    config_file = root / KITTIFY / "config.yaml"
    if config_file.exists():
        report.already_initialized = True
        existing = config.load_config(config_file)
        if config.merge_config(existing, root, agents):
            writes[config_file] = dumps(existing)
        report.agents = config.configured_agents(existing) or agents
    else:
        writes[config_file] = dumps(config.new_config(root, agents))
    metadata_file = root / KITTIFY / "metadata.yaml"
    if not metadata_file.exists():
        writes[metadata_file] = dumps(config.new_metadata())
    return writes


def _plan_refresh_metadata(root: Path) -> dict[Path, str]:
    metadata_file = root / KITTIFY / "metadata.yaml"
    if not metadata_file.exists():
        return {}
    meta = config.load_config(metadata_file)
    section = meta.get("spec_kitty")
    if not isinstance(section, dict) or section.get("version") == __version__:
        return {}
    section["version"] = __version__
    section["last_upgraded_at"] = config.utc_now_iso()
    return {metadata_file: dumps(meta)}


def _plan_command_files(
    root: Path, agents: list[str], force: bool, report: InitReport
) -> dict[Path, str]:
    writes: dict[Path, str] = {}
    for rel, content in command_files.expected_files(agents).items():
        state = command_files.classify(root / rel, content)
        if state is FileState.MISSING:
            writes[root / rel] = content
        elif state is FileState.STALE:
            if force:
                writes[root / rel] = content
            else:
                report.stale.append(rel)
        elif state is FileState.EDITED:
            report.kept_edited.append(rel)
        elif state is FileState.FOREIGN:
            report.kept_foreign.append(rel)
    return writes


def _register_merge_driver(root: Path, report: InitReport) -> None:
    from spec_kitty.services.project import merge_drivers

    report.merge_driver_registered = merge_drivers.register(root)


def init_project(
    target: Path, agents: list[str], *, force: bool = False, named_target: bool = False
) -> InitReport:
    """Initialise ``target``; idempotent, and all-or-nothing on failure."""
    from spec_kitty.git import repo as git_repo
    from spec_kitty.git.runner import GitNotInstalled

    target = target.resolve()
    initialized = (target / KITTIFY / "config.yaml").exists()
    if named_target and target.exists() and not initialized and any(target.iterdir()):
        raise TargetNotEmpty(target)
    report = InitReport(root=target, agents=list(agents))

    writes = _plan_config(target, agents, report)
    all_agents = report.agents
    if force:
        writes.update(_plan_refresh_metadata(target))
    writes.update(_plan_command_files(target, all_agents, force, report))
    from spec_kitty.services.project.merge_drivers import GITATTRIBUTES_LINES

    for path, wanted in ((target / ".gitattributes", GITATTRIBUTES_LINES),
                         (target / ".gitignore", GITIGNORE_LINES)):
        text, missing = _lines_to_add(path, wanted)
        if missing:
            writes[path] = _append_block(text, missing)

    _check_writable(list(writes))
    with FileTransaction() as tx:
        for path in sorted(writes):
            existed = path.exists()
            tx.write(path, writes[path])
            rel = str(path.relative_to(target))
            (report.updated if existed else report.created).append(rel)

    try:
        in_git = git_repo.is_work_tree(target)
    except GitNotInstalled:
        in_git = False
        report.warnings.append("git is not installed; spec-kitty needs git for missions.")
    if in_git:
        _register_merge_driver(target, report)
    elif not report.warnings:
        report.warnings.append(
            f"{target} is not inside a git work tree; run `git init` (and commit) "
            "before creating missions."
        )
    return report
