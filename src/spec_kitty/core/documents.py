"""Reading the planning documents: requirement ids in spec.md, plan.md's technical context.

"Substantive" means an author replaced the template's placeholders with real content.
A placeholder is bracketed text (``[e.g. Python 3.12]``), ``TBD``/``TODO``/``...``,
or a ``NEEDS CLARIFICATION`` marker; length alone never counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spec_kitty.core.ids import REQ_ID_PATTERN, normalize_requirement_id

# FR-001, NFR-002, C-003, and sub-requirements with a letter suffix (FR-003a).
REQ_ID = REQ_ID_PATTERN
REQ_ID_RE = re.compile(rf"\b({REQ_ID})\b")
_TABLE_ROW_RE = re.compile(rf"^\s*\|\s*\**({REQ_ID})\**\s*\|(.*)$")
_BULLET_RE = re.compile(rf"^\s*[-*]\s+\**({REQ_ID})\**\s*[:.\-–—]\s*(.*)$")
# A table row whose first cell looks like a requirement id of some other shape.
_ODD_ROW_RE = re.compile(r"^\s*\|\s*\**((?:FR|NFR|C)-[^\s|*]*)\**\s*\|", re.IGNORECASE)
_PLACEHOLDER_RE = re.compile(r"\[[^\]]*\]|\{\{[^}]*\}\}|<[^>]*>")
_EMPTY_WORDS = {"", "tbd", "todo", "...", "…", "n/a", "-", "—", "none", "draft"}
CLARIFICATION_MARK = "[NEEDS CLARIFICATION"


def is_placeholder(text: str) -> bool:
    """True when nothing real is left once template placeholders are removed."""
    if CLARIFICATION_MARK in text.upper():
        return True
    stripped = _PLACEHOLDER_RE.sub("", text).strip().strip("*_`").strip()
    return stripped.lower() in _EMPTY_WORDS


@dataclass(frozen=True)
class Requirement:
    req_id: str
    title: str
    line: int

    @property
    def kind(self) -> str:
        return self.req_id.split("-")[0]

    @property
    def substantive(self) -> bool:
        return not is_placeholder(self.title)


def defined_requirements(spec_text: str) -> list[Requirement]:
    """Requirements defined by a table row ``| FR-001 | Title |`` or a bullet ``- FR-001: ...``
    (ids normalised: ``FR-003A`` defines ``FR-003a``)."""
    found: dict[str, Requirement] = {}
    for lineno, line in enumerate(spec_text.splitlines(), 1):
        match = _TABLE_ROW_RE.match(line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")]
            title = cells[0] if cells else ""
        else:
            match = _BULLET_RE.match(line)
            if not match:
                continue
            title = match.group(2)
        req_id = normalize_requirement_id(match.group(1)) or match.group(1)
        found.setdefault(req_id, Requirement(req_id, title, lineno))
    return list(found.values())


def malformed_requirement_rows(spec_text: str) -> list[tuple[int, str]]:
    """``(line, cell)`` of table rows whose id cell is not a valid requirement id shape."""
    found = []
    for lineno, line in enumerate(spec_text.splitlines(), 1):
        match = _ODD_ROW_RE.match(line)
        if match and not _TABLE_ROW_RE.match(line):
            found.append((lineno, match.group(1)))
    return found


def spec_is_substantive(spec_text: str) -> bool:
    return any(r.kind == "FR" and r.substantive for r in defined_requirements(spec_text))


def mentioned_requirement_ids(text: str) -> dict[str, int]:
    """Every requirement id anywhere in the text -> first line it appears on."""
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        for req_id in REQ_ID_RE.findall(line):
            seen.setdefault(normalize_requirement_id(req_id) or req_id, lineno)
    return seen


_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)


def open_clarifications(text: str) -> list[int]:
    """Lines still carrying a ``[NEEDS CLARIFICATION`` marker (HTML comments do not count)."""
    visible = _HTML_COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return [n for n, line in enumerate(visible.splitlines(), 1)
            if CLARIFICATION_MARK in line.upper()]


_SECTION_RE = re.compile(r"^##\s+(.*?)\s*$")
_FIELD_RE = re.compile(r"^\s*\*\*([^*]+?)\*\*\s*:\s*(.*)$")


def section(text: str, title: str) -> str | None:
    """Body of the ``## <title>`` section (case-insensitive), up to the next ``##``."""
    lines = text.splitlines()
    start = None
    for index, line in enumerate(lines):
        match = _SECTION_RE.match(line)
        if match and start is not None:
            return "\n".join(lines[start:index])
        if match and match.group(1).strip().lower() == title.lower():
            start = index + 1
    return "\n".join(lines[start:]) if start is not None else None


def technical_context(plan_text: str) -> dict[str, str]:
    """``**Field**: value`` pairs of plan.md's Technical Context section."""
    body = section(plan_text, "Technical Context") or ""
    fields = {}
    for line in body.splitlines():
        match = _FIELD_RE.match(line)
        if match:
            fields[match.group(1).strip()] = match.group(2).strip()
    return fields


def plan_problems(plan_text: str) -> list[str]:
    """Why plan.md is not substantive yet (empty list: it is)."""
    fields = technical_context(plan_text)
    if not fields:
        return ["plan.md has no '## Technical Context' section with **Field**: value lines"]
    problems = []
    language = fields.get("Language/Version", "")
    if is_placeholder(language):
        problems.append("Technical Context: **Language/Version** is not filled in")
    others = [k for k, v in fields.items() if k != "Language/Version" and not is_placeholder(v)]
    if not others:
        problems.append("Technical Context: fill in at least one more field besides "
                        "Language/Version")
    return problems
