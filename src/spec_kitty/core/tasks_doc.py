"""Parse tasks.md: one section per work package, with dependencies, refs and subtasks.

Accepted headings (``##`` or ``###``): ``WP01``, ``WP01: Title``, ``WP01 - Title``,
``Work Package WP01: Title (Priority: P1)``, ``Work Package 1 — Title``. A section ends
at the next WP heading or at the next ``##`` heading that is not a WP heading.

Dependencies come only from explicit notation, and only the **leading list of ids**
counts: ``**Dependencies**: WP01, WP02 (needs the store)`` is WP01 and WP02, while
``**Dependencies**: none (parallel-safe with WP01)`` is no dependency. Notations:
``Depends on WP01, WP02``, ``**Dependencies**: WP01`` / ``Dependencies: WP01``, or a
``Dependencies`` heading (or an empty ``**Dependencies**:`` field) followed by
``- WP01 …`` bullets. A checklist right after such a list is still a checklist.

Subtasks are ``T###`` ids at the start of a line, under any list marker (``-``, ``*``,
``+``, ``1.``, ``1)``) and any checkbox state (``[ ]``, ``[x]``, ``[X]``, ``[~]``,
``[-]``), or in the first cell of a table row. A checkbox item whose id is not in
``T###`` form is reported, never dropped silently.

Every problem carries the tasks.md line it is about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from spec_kitty.core import ids
from spec_kitty.core.documents import REQ_ID_RE

_HEADING_RE = re.compile(
    r"^(#{2,3})\s+(?:work\s+package\s+(?:WP\s*)?0*(\d+)|WP\s*0*(\d+))(?![\w-])\s*(.*)$",
    re.IGNORECASE,
)
_ANY_H2_RE = re.compile(r"^##\s+\S")
_ANY_HEADING_RE = re.compile(r"^#{2,6}\s+(.*)$")
_DEPENDS_ON_RE = re.compile(r"\bdepends\s+on\s*:?\s*(.*)$", re.IGNORECASE)
_DEPS_FIELD_RE = re.compile(r"^\s*(?:[-*+]\s+)?[*_]*dependencies[*_]*\s*:[*_]*\s*(.*)$",
                            re.IGNORECASE)
_REFS_FIELD_RE = re.compile(
    r"^\s*(?:[-*+]\s+)?[*_]*requirement\s+refs?[*_]*\s*:[*_]*\s*(.*)$", re.IGNORECASE)
_PROMPT_FIELD_RE = re.compile(
    r"^\s*(?:[-*+]\s+)?[*_]*prompt(?:\s+file)?[*_]*\s*:[*_]*\s*(.*)$", re.IGNORECASE)
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_CHECKBOX_RE = re.compile(r"^\[(.)\]\s*(.*)$")
_TASK_LEAD_RE = re.compile(r"^[*_`]*(T\d+)\b")
_TABLE_TASK_RE = re.compile(r"^\s*\|\s*[*_`]*(T\d{3,})\b")
_ID_TOKEN_RE = re.compile(r"[\s*_`\[(]*(" + ids.WP_TOKEN + r")\b[*_`\])]*", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"\s*(?:,|;|&|/|\+|\band\b)\s*", re.IGNORECASE)
_NONE_RE = re.compile(r"^[\s*_`]*(?:none|n/a|nothing|no dependencies|-|—|–)(?![\w-])",
                      re.IGNORECASE)
_REF_TOKEN_RE = re.compile(r"[^\s,;]+")
_TITLE_TRIM_RE = re.compile(r"\s*\((?:priority[^)]*)\)\s*$", re.IGNORECASE)


def wp_label(number: str | int) -> str:
    return f"WP{int(number):02d}"


def leading_ids(text: str) -> tuple[list[str], bool]:
    """The WP ids a dependency value starts with, and whether it says anything at all.

    ``"WP01, WP02 (needs the store)"`` → ``(["WP01", "WP02"], True)``;
    ``"none (parallel-safe with WP01)"`` → ``([], True)``; ``"the design"`` → ``([], False)``.
    """
    found: list[str] = []
    pos = 0
    while match := _ID_TOKEN_RE.match(text, pos):
        wp_id = ids.canonical_wp_id(match.group(1))
        if wp_id is not None and wp_id not in found:
            found.append(wp_id)
        pos = match.end()
        separator = _SEPARATOR_RE.match(text, pos)
        if separator is not None:
            pos = separator.end()
    return found, bool(found) or bool(_NONE_RE.match(text))


@dataclass
class TasksSection:
    wp_id: str
    title: str
    line: int
    dependencies: list[str] = field(default_factory=list)
    dependency_lines: dict[str, int] = field(default_factory=dict)
    dependency_line: int | None = None  # first line with dependency notation
    requirement_refs: list[str] = field(default_factory=list)
    refs_line: int | None = None
    subtasks: list[str] = field(default_factory=list)
    subtask_lines: dict[str, int] = field(default_factory=dict)
    prompt_path: str | None = None
    has_dependency_notation: bool = False


class TasksProblem(NamedTuple):
    line: int
    message: str
    code: str = "TASKS_MD_INVALID"


@dataclass
class TasksDoc:
    sections: list[TasksSection] = field(default_factory=list)
    problems: list[TasksProblem] = field(default_factory=list)

    def by_id(self) -> dict[str, TasksSection]:
        return {s.wp_id: s for s in self.sections}


def _note_dependencies(current: TasksSection, found: list[str], lineno: int) -> None:
    current.has_dependency_notation = True
    if current.dependency_line is None:
        current.dependency_line = lineno
    for wp_id in found:
        if wp_id not in current.dependencies:
            current.dependencies.append(wp_id)
            current.dependency_lines.setdefault(wp_id, lineno)


def _subtask(line: str, lineno: int, problems: list[TasksProblem]) -> str | None:
    """The subtask id a line lists, if any (reporting malformed checkbox items)."""
    table = _TABLE_TASK_RE.match(line)
    if table:
        return table.group(1)
    item = _LIST_ITEM_RE.match(line)
    rest = item.group(1) if item else line.lstrip()
    box = _CHECKBOX_RE.match(rest)
    if box:
        rest = box.group(2)
    lead = _TASK_LEAD_RE.match(rest)
    if lead is None:
        return None
    if ids.TASK_ID_RE.match(lead.group(1)):
        return lead.group(1)
    if box or item:
        problems.append(TasksProblem(lineno, f"subtask id {lead.group(1)} is not in the "
                                             "T### form (e.g. T001)", "SUBTASK_ID_INVALID"))
    return None


def _requirement_refs(current: TasksSection, value: str, lineno: int,
                      problems: list[TasksProblem]) -> None:
    current.refs_line = current.refs_line or lineno
    for token in _REF_TOKEN_RE.findall(value):
        token = token.strip("*_`()[].")
        req_id = ids.normalize_requirement_id(token)
        if req_id is not None:
            if req_id not in current.requirement_refs:
                current.requirement_refs.append(req_id)
        elif ids.REQ_LIKE_RE.match(token) and "-" in token:
            problems.append(TasksProblem(
                lineno, f"{token} is not a requirement id (expected FR-###, NFR-### or "
                "C-###, optionally with a letter suffix like FR-003a)",
                "INVALID_REQUIREMENT_ID"))


def _scan_body(current: TasksSection, line: str, lineno: int, in_dep_list: bool,
               problems: list[TasksProblem]) -> bool:
    """Read one body line into ``current``; returns whether a Dependencies list continues."""
    heading = _ANY_HEADING_RE.match(line)
    if heading:
        is_deps = heading.group(1).strip().strip("*_").lower().startswith("dependencies")
        if is_deps:
            _note_dependencies(current, [], lineno)
        return is_deps
    task = _subtask(line, lineno, problems)
    if task is not None:
        if task not in current.subtasks:
            current.subtasks.append(task)
            current.subtask_lines[task] = lineno
        return False  # a checklist ends a dependency list
    if in_dep_list:
        item = _LIST_ITEM_RE.match(line)
        if item:
            _note_dependencies(current, leading_ids(item.group(1))[0], lineno)
            return True
        return not line.strip()  # a blank line may separate bullets; text ends the list
    if match := _DEPS_FIELD_RE.match(line):
        _note_dependencies(current, leading_ids(match.group(1))[0], lineno)
        return not match.group(1).strip()  # an empty field introduces a bullet list
    if match := _REFS_FIELD_RE.match(line):
        _requirement_refs(current, match.group(1), lineno, problems)
    elif match := _PROMPT_FIELD_RE.match(line):
        current.prompt_path = match.group(1).strip().strip("`") or None
    elif (match := _DEPENDS_ON_RE.search(line)) and (found := leading_ids(match.group(1)))[1]:
        _note_dependencies(current, found[0], lineno)
    return False


def _check(doc: TasksDoc) -> None:
    owners: dict[str, tuple[str, int]] = {}
    for item in doc.sections:
        if item.wp_id in item.dependencies:
            doc.problems.append(TasksProblem(item.dependency_lines[item.wp_id],
                                             f"{item.wp_id} depends on itself"))
        for task, line in item.subtask_lines.items():
            if task in owners and owners[task][0] != item.wp_id:
                first_wp, first_line = owners[task]
                doc.problems.append(TasksProblem(
                    line, f"subtask {task} is listed under {first_wp} (line {first_line}) "
                    f"and again under {item.wp_id}", "DUPLICATE_SUBTASK"))
            owners.setdefault(task, (item.wp_id, line))


def parse_tasks_doc(text: str) -> TasksDoc:
    """Parse tasks.md text (LF or CRLF, BOM already removed). Never raises."""
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
                doc.problems.append(TasksProblem(
                    lineno, f"{wp_id} has a second section (first on line {seen[wp_id]})"))
            seen.setdefault(wp_id, lineno)
            current = TasksSection(wp_id, _clean_title(heading.group(4), wp_id), lineno)
            doc.sections.append(current)
            in_dep_list = False
            continue
        if _ANY_H2_RE.match(line):
            current = None  # a non-WP `##` section ends the work package
            continue
        if current is not None:
            in_dep_list = _scan_body(current, line, lineno, in_dep_list, doc.problems)
    _check(doc)
    return doc


class DependencyDisagreement(NamedTuple):
    """A work package whose tasks.md section and frontmatter name different dependencies."""

    wp_id: str
    line: int  # the tasks.md line with the dependency notation
    in_tasks: list[str]
    in_frontmatter: list[str]


def dependency_disagreements(doc: TasksDoc, declared: Mapping[str, Sequence[str]]
                             ) -> list[DependencyDisagreement]:
    """Work packages whose tasks.md dependencies (only sections that state them) differ
    from ``declared`` (``{wp_id: dependencies}`` read from the WP files), in WP order."""
    found = []
    for section in doc.sections:
        if not section.has_dependency_notation or section.wp_id not in declared:
            continue
        theirs = list(declared[section.wp_id])
        if set(section.dependencies) != set(theirs):
            found.append(DependencyDisagreement(
                section.wp_id, section.dependency_line or section.line,
                list(section.dependencies), theirs))
    return found


def _clean_title(rest: str, wp_id: str) -> str:
    title = rest.strip().lstrip(":-–—").strip()
    title = _TITLE_TRIM_RE.sub("", title).strip()
    return title or wp_id


__all__ = ["REQ_ID_RE", "DependencyDisagreement", "TasksDoc", "TasksProblem", "TasksSection",
           "dependency_disagreements", "leading_ids", "parse_tasks_doc", "wp_label"]
