"""How the scripted agent reads a markdown prompt: sections, steps, commands.

The conventions it relies on are the ones the prompts and command files promise a
real agent: ``## Section`` headings, numbered steps run in order, commands written as
inline code, and explicit choices written as ``- Label: … `command` …`` bullets. Text
in fenced code blocks (templates, examples) is never taken for a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RUNNABLE = ("spec-kitty ", "git ", "cd ")
_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
_SPAN = re.compile(r"`([^`\n]+)`")
_PLACEHOLDER = re.compile(r"<([a-zA-Z][a-zA-Z0-9_ -]*)>")


@dataclass(frozen=True)
class Step:
    """One numbered step: its text and the commands written in it, in order."""

    text: str
    commands: list[str]

    @property
    def runs_spec_kitty(self) -> bool:
        return any(c.startswith("spec-kitty ") for c in self.commands)


def without_fences(text: str) -> str:
    return _FENCE.sub("", text)


def sections(markdown: str) -> list[tuple[str, str]]:
    """``(heading, body)`` for every ``## `` section, in document order."""
    parts = re.split(r"^## (.+)$", without_fences(markdown), flags=re.M)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def section(markdown: str, heading: str) -> str | None:
    return next((body for title, body in sections(markdown) if title.startswith(heading)), None)


def commands(text: str) -> list[str]:
    """Inline code spans that are commands (spec-kitty, git or cd)."""
    return [span.strip() for span in _SPAN.findall(text) if span.startswith(RUNNABLE)]


def steps(body: str) -> list[Step]:
    """The numbered steps of a section body (continuation lines belong to their step)."""
    found: list[list[str]] = []
    for line in body.splitlines():
        if re.match(r"^\d+\.\s", line):
            found.append([line])
        elif found and (line.startswith("   ") or not line.strip()):
            found[-1].append(line)
        elif found:
            found.append([])  # prose after the list ends the step
    items = ["\n".join(lines).strip() for lines in found if lines]
    return [Step(text, commands(text)) for text in items if text]


def choices(body: str) -> dict[str, str]:
    """``- Label: …`` bullets → label: the bullet's text (continuation lines included)."""
    found: dict[str, str] = {}
    label = None
    for line in body.splitlines():
        match = re.match(r"^\s*- ([^:`]+):\s*(.*)$", line)
        if match:
            label = match.group(1).strip()
            found[label] = match.group(2)
        elif label and line.startswith("  ") and line.strip():
            found[label] += "\n" + line.strip()
        else:
            label = None
    return found


def kind_bullets(body: str) -> dict[str, str]:
    """For ``- `kind: "x"` …`` bullets (the next command file): kind → bullet text."""
    found: dict[str, str] = {}
    current = None
    for line in body.splitlines():
        match = re.match(r'^\s*- `kind: "(\w+)"`(.*)$', line)
        if match:
            current = match.group(1)
            found[current] = match.group(2)
        elif current and line.startswith("     ") and line.strip():
            found[current] += "\n" + line.strip()
        else:
            current = None
    return found


def placeholders(command: str) -> list[str]:
    return _PLACEHOLDER.findall(command)


def fill(command: str, values: dict[str, str]) -> str:
    """Replace ``<name>`` placeholders; an unknown one means the prompt asks for
    something this agent cannot know, which is an error."""
    unknown = [name for name in placeholders(command) if name not in values]
    if unknown:
        raise ValueError(f"the prompt asks for {', '.join(f'<{u}>' for u in unknown)} in "
                         f"{command!r}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], command)
