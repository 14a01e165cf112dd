"""Identifier shapes, normalised once for every reader: WP ids, requirement ids, agents.

- **Work packages**: ``WP1``, ``wp01``, ``WP 01`` and ``WP001`` all name ``WP01``: the
  prefix is upper-cased and the number written with at least two digits (``WP100``
  stays ``WP100``). File names, frontmatter, tasks.md, CLI arguments and event rows
  all go through :func:`canonical_wp_id`, so ``dependencies: [WP1]`` and a file
  ``WP01-…`` meet.
- **Requirements**: ``FR-001``, ``NFR-002``, ``C-003``, optionally with one letter
  suffix (``FR-003a``), which real specs use for sub-requirements.
- **Agents**: recorded agents may be compound (``claude:opus:reviewer-profile:implementer``
  is ``tool:model:profile:role``) or dicts (``{"tool": "claude", ...}``); they match an
  agent key by their tool part.
- **Lists**: frontmatter may spell a list as a YAML list, a string ``"[]"`` /
  ``"WP01, WP02"``, or leave it out; :func:`parse_wp_list` reads them all the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spec_kitty.core.errors import SpecKittyError

_WP_RE = re.compile(r"^\s*wp[\s_-]?0*(\d+)\s*$", re.IGNORECASE)
WP_TOKEN = r"WP[\s_-]?\d+"
_REQ_RE = re.compile(r"^\s*(FR|NFR|C)-(\d{3,})([A-Za-z]?)\s*$", re.IGNORECASE)
# A requirement id anywhere in text; the letter suffix is optional (FR-003, FR-003a) and
# read in either case (FR-003A is FR-003a: :func:`normalize_requirement_id`).
REQ_ID_PATTERN = r"(?:FR|NFR|C)-\d{3,}[a-zA-Z]?"
# Something that looks like it wants to be a requirement id (for shape errors).
REQ_LIKE_RE = re.compile(r"^\s*(?:FR|NFR|C)\b", re.IGNORECASE)
TASK_ID_RE = re.compile(r"^T\d{3,}$")
# A subtask id leading a string: "T001", "T001: Create models", "T001 - Create models".
_TASK_LEAD_RE = re.compile(r"^(T\d{3,})(?:$|\s*[:.\-–—]\s|\s)")
_LIST_SPLIT_RE = re.compile(r"[,;\s]+")
_EMPTY_WORDS = frozenset({"", "none", "n/a", "na", "-", "—", "–", "[]", "null", "~"})


class InvalidWorkPackageId(SpecKittyError):
    def __init__(self, value: object) -> None:
        super().__init__(
            f"{value!r} is not a work package id (expected WP followed by a number, "
            "e.g. WP01).",
            "INVALID_WP_ID",
            details={"value": str(value)},
            exit_code=2,
        )


def canonical_wp_id(value: object) -> str | None:
    """``WPnn`` for anything that spells a work package id, else None.

    >>> canonical_wp_id("wp1"), canonical_wp_id("WP001"), canonical_wp_id("T001")
    ('WP01', 'WP01', None)
    """
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    match = _WP_RE.match(str(value))
    return f"WP{int(match.group(1)):02d}" if match else None


def normalize_wp_id(value: object) -> str:
    """Like :func:`canonical_wp_id` but raises :class:`InvalidWorkPackageId` (exit 2)."""
    canonical = canonical_wp_id(value)
    if canonical is None:
        raise InvalidWorkPackageId(value)
    return canonical


@dataclass(frozen=True)
class IdList:
    """A list read from frontmatter: the ids, and the items that were not ids."""

    ids: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def _items(value: Any) -> list[Any] | None:
    """The raw items of a list-ish frontmatter value; None when it is not list-shaped."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        if text.strip().lower() in _EMPTY_WORDS:
            return []
        items: list[Any] = []
        for part in re.split(r"[,;]", text.replace("'", "").replace('"', "")):
            part = part.strip()
            if canonical_wp_id(part) is not None:  # "WP 01" is one id
                items.append(part)
            else:
                items += [word for word in _LIST_SPLIT_RE.split(part) if word]
        return items
    if isinstance(value, list | tuple):
        return list(value)
    return None


def parse_wp_list(value: Any) -> IdList:
    """Read ``dependencies`` however it is spelled: ``[WP1, wp02]``, ``"[]"``, ``"WP01, WP02"``.

    Returns canonical ids in order without duplicates; anything that is not a WP id
    lands in ``invalid`` (so a caller can fail closed and name it, never drop it).
    """
    items = _items(value)
    if items is None:
        return IdList([], [str(value)])
    ids: list[str] = []
    invalid: list[str] = []
    for item in items:
        canonical = canonical_wp_id(item)
        if canonical is not None:
            if canonical not in ids:
                ids.append(canonical)
        elif not (isinstance(item, str) and item.strip().lower() in _EMPTY_WORDS):
            invalid.append(str(item))
    return IdList(ids, invalid)


def parse_string_list(value: Any) -> list[str]:
    """A list of plain strings (owned_files, requirement_refs) from any spelling."""
    items = _items(value)
    if items is None:
        return [str(value)]
    return [str(item).strip() for item in items if str(item).strip()]


def normalize_requirement_id(value: object) -> str | None:
    """``FR-001``, ``nfr-002`` → ``NFR-002``, ``FR-003a``; None for anything else."""
    if not isinstance(value, str):
        return None
    match = _REQ_RE.match(value)
    if match is None:
        return None
    return f"{match.group(1).upper()}-{match.group(2)}{match.group(3).lower()}"


def parse_subtasks(value: Any) -> IdList:
    """Subtask ids from frontmatter ``subtasks``: strings or mappings with an ``id``.

    Real missions write ``- T001``, ``- "T001: title"``, ``- T001: title`` (a one-key
    mapping) and ``- {id: T001, title: …, status: planned}``. An item without a readable
    ``T###`` id is reported in ``invalid``, never dropped.
    """
    if isinstance(value, Mapping):  # {T001: "title", T002: ...}
        value = [{"id": key} for key in value]
    items = _items(value)
    if items is None:
        return IdList([], [str(value)])
    ids: list[str] = []
    invalid: list[str] = []
    for item in items:
        task_id = _subtask_id(item)
        if task_id is None:
            invalid.append(str(item))
        elif task_id not in ids:
            ids.append(task_id)
    return IdList(ids, invalid)


def _subtask_id(item: Any) -> str | None:
    """``T001`` from ``T001``, ``"T001: Create models"``, ``{id: T001, ...}`` or the
    one-key mapping YAML makes of ``- T001: Create models``; None otherwise."""
    if isinstance(item, Mapping):
        raw = item.get("id", item.get("task_id"))
        if raw is None and len(item) == 1:
            raw = next(iter(item))
    else:
        raw = item
    match = _TASK_LEAD_RE.match(str(raw).strip()) if raw is not None else None
    return match.group(1) if match else None


def agent_tool(recorded: Any) -> str | None:
    """The tool part of a recorded agent: ``claude`` for ``claude:opus:p:implementer``."""
    if isinstance(recorded, Mapping):
        recorded = recorded.get("tool") or recorded.get("agent")
    if not isinstance(recorded, str) or not recorded.strip():
        return None
    return recorded.strip().split(":", 1)[0].strip().lower() or None


def agent_matches(recorded: Any, agent: str | None) -> bool:
    """Whether a recorded agent (string, compound or dict) is the agent ``agent``."""
    if not agent:
        return False
    if isinstance(recorded, str) and recorded.strip() == agent.strip():
        return True
    mine = agent_tool(agent)
    return mine is not None and agent_tool(recorded) == mine
