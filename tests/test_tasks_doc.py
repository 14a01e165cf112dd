"""tasks.md parsing: every supported notation, and garbage never raises."""

from __future__ import annotations

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
    assert (4, "WP01 has a second section (first on line 1)") in doc.problems
    assert (2, "WP01 depends on itself") in doc.problems


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
    for line, message in doc.problems:
        assert line >= 1 and message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_unicode_never_raises(text: str) -> None:
    parse_tasks_doc(text)
