"""The project charter: governance text agents load before they act.

The charter lives at ``.kittify/charter/charter.md``. Agents ask for it per action:
the first time an action is loaded in a project they get the general sections plus
that action's rules (``bootstrap``); afterwards only the action's rules (``compact``),
so a long charter does not eat an agent's context on every step.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from spec_kitty.core.errors import SpecKittyError, UsageError
from spec_kitty.core.timestamps import format_at
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.jsonio import dumps_pretty
from spec_kitty.repo.package_data import read_package_text
from spec_kitty.repo.paths import ProjectPaths

ACTIONS = ("specify", "plan", "tasks", "implement", "review", "accept", "merge")
# Only these actions get the full bootstrap; the rest are short steps where the
# general rules were already delivered by an earlier action.
GOVERNED_ACTIONS = frozenset({"specify", "plan", "implement", "review"})

Mode = Literal["bootstrap", "compact", "none"]

_ACTION_HEADING = re.compile(r"^##\s+For\s+([A-Za-z]+)\b", re.IGNORECASE)
_SECTION_END = re.compile(r"^#{1,2}\s")
_FENCE = re.compile(r"^\s*(```|~~~)")


def charter_dir(project: ProjectPaths) -> Path:
    return project.kittify / "charter"


def charter_path(project: ProjectPaths) -> Path:
    return charter_dir(project) / "charter.md"


def state_path(project: ProjectPaths) -> Path:
    return charter_dir(project) / "context-state.json"


# --- init / show -----------------------------------------------------------------


@dataclass(frozen=True)
class InitResult:
    charter_path: Path
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {"result": "success", "charter_path": str(self.charter_path),
                "created": self.created}


def init_charter(project: ProjectPaths, *, force: bool = False) -> InitResult:
    """Write the default charter; an existing one is only replaced with ``force``."""
    path = charter_path(project)
    existed = path.exists()
    if existed and not force:
        raise SpecKittyError(
            f"A charter already exists at {path}.",
            "CHARTER_EXISTS",
            details={"charter_path": str(path)},
            hint="Edit it directly, or run `spec-kitty charter init --force` to replace it.",
        )
    template = read_package_text("templates", "charter", "charter.md")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, template)
    except OSError as exc:
        raise SpecKittyError(
            f"Cannot write the charter to {path}: {exc.strerror or exc}",
            "CHARTER_NOT_WRITABLE",
            details={"charter_path": str(path)},
        ) from None
    return InitResult(path, created=not existed)


def read_charter(project: ProjectPaths) -> str | None:
    """The charter text, or ``None`` when there is no charter file."""
    from spec_kitty.repo.textio import FileUnreadable, read_text_if_exists

    path = charter_path(project)
    try:
        # A BOM (added by some editors) would hide the first heading; textio drops it.
        return read_text_if_exists(path)
    except FileUnreadable as exc:
        raise _unreadable(path, exc.message) from None


def _unreadable(path: Path, reason: str) -> SpecKittyError:
    return SpecKittyError(
        f"Cannot read the charter {path}: {reason}",
        "CHARTER_UNREADABLE",
        details={"charter_path": str(path)},
        hint="Save the file as UTF-8 text, or recreate it with `spec-kitty charter init --force`.",
    )


def show_charter(project: ProjectPaths) -> str:
    """The charter text; a missing charter is an error here (unlike for ``context``)."""
    text = read_charter(project)
    if text is None:
        path = charter_path(project)
        raise SpecKittyError(
            f"This project has no charter ({path} does not exist).",
            "CHARTER_MISSING",
            details={"charter_path": str(path)},
            hint="spec-kitty charter init",
        )
    return text


# --- parsing ---------------------------------------------------------------------


@dataclass(frozen=True)
class CharterSections:
    general: str  # everything before the first "## For <action>" heading
    actions: dict[str, str]  # action -> its section, heading included


def _action_of(line: str) -> str | None:
    match = _ACTION_HEADING.match(line)
    if match is None:
        return None
    action = match.group(1).lower()
    # "## For example" is ordinary prose, not an action section.
    return action if action in ACTIONS else None


def split_charter(text: str) -> CharterSections:
    """Cut the charter into its general part and one block per ``## For <action>``.

    An action block runs until the next level-1 or level-2 heading, so ``###``
    subsections stay with it. Lines inside code fences are never headings.
    """
    general: list[str] = []
    actions: dict[str, list[str]] = {}
    current: list[str] | None = None  # None: still in the general part
    seen_action = False
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        action = None if in_fence else _action_of(line)
        if action is not None:
            seen_action = True
            # A repeated heading starts over, so the last one wins, like later rules do.
            current = actions[action] = []
        elif not in_fence and seen_action and _SECTION_END.match(line):
            current = []  # a non-action section after the action blocks: not handed out
        if current is not None:
            current.append(line)
        elif not seen_action:
            general.append(line)
    return CharterSections(
        general="\n".join(general).strip(),
        actions={name: "\n".join(lines).strip() for name, lines in actions.items()},
    )


# --- context ---------------------------------------------------------------------


@dataclass(frozen=True)
class CharterContext:
    action: str
    mode: Mode
    present: bool
    charter_path: Path
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "mode": self.mode, "present": self.present,
                "charter_path": str(self.charter_path), "text": self.text}


def normalize_action(action: str) -> str:
    name = action.strip().lower()
    if name not in ACTIONS:
        raise UsageError(
            f"Unknown action {action!r}; expected one of: {', '.join(ACTIONS)}.",
            details={"valid_actions": list(ACTIONS)},
        )
    return name


def load_context(project: ProjectPaths, action: str, *, mark_loaded: bool = True) -> CharterContext:
    """The charter text an agent should load before performing ``action``."""
    name = normalize_action(action)
    path = charter_path(project)
    text = read_charter(project)
    if text is None:
        # A project without a charter is normal; agents must be able to carry on.
        return CharterContext(name, "none", False, path,
                              f"This project has no charter ({path} does not exist); "
                              "no project-specific rules apply.")
    sections = split_charter(text)
    loaded = _read_loaded_actions(project)
    if name in GOVERNED_ACTIONS and name not in loaded:
        context = CharterContext(name, "bootstrap", True, path,
                                 _bootstrap_text(name, sections, path))
        if mark_loaded:
            _record_loaded(project, loaded, name)
        return context
    return CharterContext(name, "compact", True, path, _compact_text(name, sections, path))


def _pointer(action: str, path: Path) -> str:
    return (f"The project charter at {path} has no rules specific to {action}; "
            "its general rules still apply.")


def _bootstrap_text(action: str, sections: CharterSections, path: Path) -> str:
    intro = (f"Read the whole project charter at {path} before you {action}. "
             f"Its general sections and the rules for {action} follow.")
    own = sections.actions.get(action) or _pointer(action, path)
    return "\n\n".join(part for part in (intro, sections.general, own) if part)


def _compact_text(action: str, sections: CharterSections, path: Path) -> str:
    return sections.actions.get(action) or _pointer(action, path)


# --- load tracking -----------------------------------------------------------------


def _read_loaded_actions(project: ProjectPaths) -> dict[str, str]:
    """Actions already bootstrapped in this project, with when.

    The state file is only a cache: if it is missing or damaged we treat nothing as
    loaded, so the agent gets the fuller bootstrap text rather than an error.
    """
    try:
        data = json.loads(state_path(project).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    loaded = data.get("loaded_actions") if isinstance(data, dict) else None
    if not isinstance(loaded, dict):
        return {}
    return {str(k): str(v) for k, v in loaded.items()}


def _record_loaded(project: ProjectPaths, loaded: dict[str, str], action: str) -> None:
    """Remember that ``action`` was bootstrapped.

    Two agents racing here can lose one entry; the cost is one extra bootstrap, which
    is not worth a lock. Failing to write has the same cost and must not stop an agent
    that already has the text it needs, so write errors are ignored.
    """
    state = {"loaded_actions": {**loaded, action: format_at(datetime.now(UTC))}}
    with contextlib.suppress(OSError):
        write_text_atomic(state_path(project), dumps_pretty(state))
