"""Parse tasks.md: one section per work package, with dependencies, refs and subtasks.

Accepted headings (``##`` or ``###``): ``WP01``, ``WP01: Title``, ``WP01 - Title``,
``Work Package WP01: Title (Priority: P1)``, ``Work Package 1 — Title``. A section ends
at the next WP heading or at the next ``##`` heading that is not a WP heading.
Dependencies come only from explicit notation: ``Depends on WP01, WP02``,
``**Dependencies**: WP01`` / ``Dependencies: WP01``, or a ``### Dependencies`` heading
followed by ``- WP01`` bullets. Nothing is inferred from prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spec_kitty.core.documents import REQ_ID_RE

_HEADING_RE = re.compile(
    r"^(#{2,3})\s+(?:work\s+package\s+(?:WP\s*)?0*(\d+)|WP\s*0*(\d+))(?![\w-])\s*(.*)$",
    re.IGNORECASE,
)
_ANY_H2_RE = re.compile(r"^##\s+\S")
_ANY_HEADING_RE = re.compile(r"^#{2,6}\s+(.*)$")
_WP_REF_RE = re.compile(r"\bWP\s*0*(\d+)\b", re.IGNORECASE)
_DEPENDS_ON_RE = re.compile(r"\bdepends\s+on\s*:?\s*(.+)$", re.IGNORECASE)
_DEPS_FIELD_RE = re.compile(r"^\s*[-*]?\s*\**dependencies\**\s*:\**\s*(.*)$", re.IGNORECASE)
_REFS_FIELD_RE = re.compile(r"^\s*[-*]?\s*\**requirement\s+refs?\**\s*:\**\s*(.*)$",
                            re.IGNORECASE)
_PROMPT_FIELD_RE = re.compile(r"^\s*[-*]?\s*\**prompt(?:\s+file)?\**\s*:\**\s*(.*)$",
                              re.IGNORECASE)
_SUBTASK_RE = re.compile(r"^\s*(?:[-*]\s+)?(?:\[[ xX]\]\s+)?\**(T\d{3,})\b")
_BULLET_RE = re.compile(r"^\s*[-*]\s+(.*)$")
_TITLE_TRIM_RE = re.compile(r"\s*\((?:priority[^)]*)\)\s*$", re.IGNORECASE)


def wp_label(number: str | int) -> str:
    return f"WP{int(number):02d}"


@dataclass
class TasksSection:
    wp_id: str
    title: str
    line: int
    dependencies: list[str] = field(default_factory=list)
    dependency_lines: dict[str, int] = field(default_factory=dict)
    requirement_refs: list[str] = field(default_factory=list)
    subtasks: list[str] = field(default_factory=list)
    prompt_path: str | None = None
    has_dependency_notation: bool = False


@dataclass
class TasksDoc:
    sections: list[TasksSection] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def by_id(self) -> dict[str, TasksSection]:
        return {s.wp_id: s for s in self.sections}


def _add_refs(target: list[str], lines: dict[str, int], text: str, lineno: int) -> None:
    for number in _WP_REF_RE.findall(text):
        wp_id = wp_label(number)
        if wp_id not in target:
            target.append(wp_id)
            lines.setdefault(wp_id, lineno)


def _clean_title(rest: str, wp_id: str) -> str:
    title = rest.strip().lstrip(":-–—").strip()
    title = _TITLE_TRIM_RE.sub("", title).strip()
    return title or wp_id


def _scan_body(current: TasksSection, line: str, lineno: int, in_dep_list: bool) -> bool:
    """Read one body line into ``current``; returns whether a Dependencies list continues."""
    heading = _ANY_HEADING_RE.match(line)
    if heading:
        is_deps = heading.group(1).strip().strip("*").lower().startswith("dependencies")
        current.has_dependency_notation |= is_deps
        return is_deps
    if in_dep_list:
        bullet = _BULLET_RE.match(line)
        if bullet:
            _add_refs(current.dependencies, current.dependency_lines, bullet.group(1), lineno)
            return True
        return not line.strip()  # a blank line may separate bullets; text ends the list
    if (match := _DEPS_FIELD_RE.match(line)) or (match := _DEPENDS_ON_RE.search(line)):
        current.has_dependency_notation = True
        _add_refs(current.dependencies, current.dependency_lines, match.group(1), lineno)
    elif match := _REFS_FIELD_RE.match(line):
        for req_id in REQ_ID_RE.findall(match.group(1)):
            if req_id not in current.requirement_refs:
                current.requirement_refs.append(req_id)
    elif match := _PROMPT_FIELD_RE.match(line):
        current.prompt_path = match.group(1).strip().strip("`") or None
    elif (match := _SUBTASK_RE.match(line)) and match.group(1) not in current.subtasks:
        current.subtasks.append(match.group(1))
    return False


def parse_tasks_doc(text: str) -> TasksDoc:
    doc = TasksDoc()
    current: TasksSection | None = None
    in_dep_list = False
    seen: dict[str, int] = {}
    in_fence = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            wp_id = wp_label(heading.group(2) or heading.group(3))
            if wp_id in seen:
                doc.problems.append((lineno, f"{wp_id} has a second section (first on line "
                                             f"{seen[wp_id]})"))
            seen.setdefault(wp_id, lineno)
            current = TasksSection(wp_id, _clean_title(heading.group(4), wp_id), lineno)
            doc.sections.append(current)
            in_dep_list = False
            continue
        if _ANY_H2_RE.match(line):
            current = None  # a non-WP `##` section ends the work package
            continue
        if current is not None:
            in_dep_list = _scan_body(current, line, lineno, in_dep_list)
    for item in doc.sections:
        if item.wp_id in item.dependencies:
            doc.problems.append((item.dependency_lines[item.wp_id],
                                 f"{item.wp_id} depends on itself"))
    return doc
