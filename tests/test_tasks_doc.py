"""tasks.md parsing: every supported notation, and garbage never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_kitty.core.tasks_doc import parse_tasks_doc

TASKS = """\
# Work Packages

Intro text mentioning WP09 which is not a section.

## WP01: Storage layer (Priority: P1)

**Goal**: persist things.
**Requirement Refs**: FR-001, NFR-001
**Dependencies**: none
**Prompt**: `tasks/WP01-storage.md`

- T001 Create the store
- [ ] T002 [P] Persist

## Work Package WP02 – Command line (Priority: P2)

Dependencies: WP01
Requirement Refs: FR-002
T003 Add the list command

### Work Package 3 — Integration

Depends on WP01 and WP02.
**Requirement Refs**: FR-001

### Subtasks
- T004 Wire it

## WP4 Docs

### Dependencies
- WP03 (needs the final behaviour)
- WP2

Closing words.

## Notes

- WP05 is mentioned here but this is not a section.
- Depends on WP01 (prose outside any WP section)

```markdown
## WP07: inside a code fence, not a section
```
"""


def test_every_notation() -> None:
    doc = parse_tasks_doc(TASKS)
    assert doc.problems == []
    by_id = doc.by_id()
    assert list(by_id) == ["WP01", "WP02", "WP03", "WP04"]
    assert by_id["WP01"].title == "Storage layer"
    assert by_id["WP01"].dependencies == []
    assert by_id["WP01"].requirement_refs == ["FR-001", "NFR-001"]
    assert by_id["WP01"].subtasks == ["T001", "T002"]
    assert by_id["WP01"].prompt_path == "tasks/WP01-storage.md"
    assert by_id["WP01"].line == 5
    assert by_id["WP02"].title == "Command line"
    assert by_id["WP02"].dependencies == ["WP01"]
    assert by_id["WP02"].requirement_refs == ["FR-002"]
    assert by_id["WP02"].subtasks == ["T003"]
    assert by_id["WP03"].title == "Integration"
    assert by_id["WP03"].dependencies == ["WP01", "WP02"]
    assert by_id["WP03"].subtasks == ["T004"]
    assert by_id["WP04"].title == "Docs"
    assert by_id["WP04"].dependencies == ["WP03", "WP02"]


def test_duplicate_and_self_dependency_are_reported_with_lines() -> None:
    doc = parse_tasks_doc("## WP01: A\nDepends on WP01\n\n## WP01: again\n")
    found = [(p.line, p.message) for p in doc.problems]
    assert (4, "WP01 has a second section (first on line 1)") in found
    assert (2, "WP01 depends on itself") in found


def test_plain_numbered_headings_are_not_work_packages() -> None:
    doc = parse_tasks_doc("## 1. Introduction\n## 2 Setup\n## WP01-related notes\n")
    assert doc.sections == []


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("#WP0123 :-–—\n*[]()TFRdependsonDepdncis,.x`")),
               max_size=300))
def test_garbage_never_raises(text: str) -> None:
    doc = parse_tasks_doc(text)
    for section in doc.sections:
        assert section.wp_id.startswith("WP") and section.line >= 1
    for line, message, code in doc.problems:
        assert line >= 1 and message and code


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_unicode_never_raises(text: str) -> None:
    parse_tasks_doc(text)


# --- dependencies: only the leading list of ids counts ------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ("**Dependencies**: none (parallel-safe with WP01)", []),
    ("**Dependencies**: None — runs alongside WP02 and WP03", []),
    ("**Dependencies**: WP01, WP02 (needs the store from WP04)", ["WP01", "WP02"]),
    ("**Dependencies**: WP01 and WP02.", ["WP01", "WP02"]),
    ("**Dependencies:** `WP1`, **WP02**", ["WP01", "WP02"]),
    ("Dependencies: [WP01, WP03]", ["WP01", "WP03"]),
    ("Depends on WP01; see WP05 for context", ["WP01"]),
    ("- **Dependencies**: WP03 / WP01", ["WP03", "WP01"]),
    ("This work depends on the storage design", []),
])
def test_a_dependency_line_counts_only_its_leading_ids(line: str, expected: list[str]) -> None:
    doc = parse_tasks_doc(f"## WP09: Something\n\n{line}\n")
    assert doc.sections[0].dependencies == expected


def test_parallel_safe_notes_on_both_sides_are_not_a_cycle() -> None:
    doc = parse_tasks_doc("## WP01: A\n**Dependencies**: none (parallel-safe with WP02)\n"
                          "## WP02: B\n**Dependencies**: none (parallel-safe with WP01)\n")
    assert [s.dependencies for s in doc.sections] == [[], []]
    assert all(s.has_dependency_notation for s in doc.sections)


@pytest.mark.parametrize("intro", ["### Dependencies", "**Dependencies**:", "Dependencies:"])
def test_a_checklist_right_after_a_dependency_list_is_kept(intro: str) -> None:
    doc = parse_tasks_doc(f"## WP03: C\n{intro}\n- WP01 (the store)\n- WP02\n"
                          "- [ ] T005 Wire it\n- [x] T006 Test it\n")
    section = doc.sections[0]
    assert section.dependencies == ["WP01", "WP02"]
    assert section.subtasks == ["T005", "T006"]


# --- subtasks: any list marker, any checkbox state ----------------------------------------

MARKERS = st.sampled_from(["-", "*", "+", "1.", "2)", "10.", ""])
BOXES = st.sampled_from(["", "[ ] ", "[x] ", "[X] ", "[~] ", "[-] ", "[/] "])
EMPHASIS = st.sampled_from(["", "**", "`"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(MARKERS, BOXES, EMPHASIS, st.integers(1, 9999)), min_size=1,
                max_size=8, unique_by=lambda t: t[3]), st.booleans())
def test_subtasks_under_any_marker_and_checkbox(items: list[tuple[str, str, str, int]],
                                                crlf: bool) -> None:
    lines = [f"{marker}{' ' if marker else ''}{box}{em}T{n:03d}{em} do step {n}"
             for marker, box, em, n in items]
    text = "## WP01: A\n**Dependencies**: none\n\n" + "\n".join(lines) + "\n"
    doc = parse_tasks_doc(text.replace("\n", "\r\n") if crlf else text)
    assert doc.sections[0].subtasks == [f"T{n:03d}" for *_, n in items]
    assert doc.problems == []


def test_subtasks_in_table_rows_and_malformed_ids_are_reported() -> None:
    doc = parse_tasks_doc("## WP01: A\n| T001 | Build | P |\n|---|---|---|\n"
                          "- [ ] T1 too short an id\n")
    assert doc.sections[0].subtasks == ["T001"]
    assert [(p.line, p.code) for p in doc.problems] == [(4, "SUBTASK_ID_INVALID")]


def test_a_subtask_listed_under_two_work_packages_is_reported() -> None:
    doc = parse_tasks_doc("## WP01: A\n- T001 a\n## WP02: B\n- T001 again\n")
    assert [(p.line, p.code) for p in doc.problems] == [(4, "DUPLICATE_SUBTASK")]


def test_a_field_mentioning_depends_on_is_still_that_field() -> None:
    doc = parse_tasks_doc("## WP02: B\n**Requirement Refs**: FR-001 (depends on WP01 design)\n")
    assert doc.sections[0].requirement_refs == ["FR-001"]
    assert doc.sections[0].dependencies == [] and not doc.sections[0].has_dependency_notation


def test_dependency_disagreements_compare_only_sections_that_state_dependencies() -> None:
    from spec_kitty.core.tasks_doc import dependency_disagreements

    doc = parse_tasks_doc("## WP01: A\n\n## WP02: B\n**Dependencies**: WP01\n\n"
                          "## WP03: C\nDepends on WP01, WP02\n\n## WP04: D\n"
                          "**Dependencies**: none\n")
    found = dependency_disagreements(doc, {"WP01": ["WP09"], "WP02": ["WP01"],
                                           "WP03": ["wp01"], "WP04": ["WP02"]})
    assert [(d.wp_id, d.line, d.in_tasks, d.in_frontmatter) for d in found] == [
        ("WP03", 7, ["WP01", "WP02"], ["wp01"]), ("WP04", 10, [], ["WP02"])]
