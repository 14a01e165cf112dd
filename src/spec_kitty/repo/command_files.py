"""Render the per-agent command prompts and keep the copies in a project current.

Every generated file carries a marker line with the tool version and a hash of the
rest of the file. The hash lets us tell our pristine output (safe to refresh) from a
file the user edited (never overwritten) and from a file we never wrote (no marker).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from spec_kitty import __version__
from spec_kitty.core.agents import AGENTS, COMMANDS, AgentSpec
from spec_kitty.repo import frontmatter
from spec_kitty.repo.package_data import read_package_text

MARKER_KEY = "spec-kitty-command-version"
_MARKER_RE = re.compile(
    r"^(?:<!--|#)\s*" + re.escape(MARKER_KEY) + r":\s*(?P<version>\S+)\s+sha256=(?P<hash>[0-9a-f]+)"
)
MARKER_SEARCH_LINES = 20

_USER_INPUT_WITH_TOKEN = """## User input

```text
{token}
```

Take the user input above into account before you start (it may be empty)."""

_USER_INPUT_FOR_SKILL = """## User input

Treat whatever the user wrote when invoking this skill as the user input (it may be empty).
Wherever a command below says `<agent-key>`, use the key of the tool you are running in
({skill_agents})."""

# Skill files live in one directory shared by several agents, so they name no single agent.
SKILL_AGENT_PLACEHOLDER = "<agent-key>"


class FileState(StrEnum):
    MISSING = "missing"
    CURRENT = "current"  # ours, pristine, identical to what we would write now
    STALE = "stale"  # ours, pristine, but an older rendering
    EDITED = "edited"  # ours, but the user changed it: never overwritten
    FOREIGN = "foreign"  # no marker: not ours, never touched


@dataclass(frozen=True)
class CommandTemplate:
    command: str
    description: str
    body: str


@cache
def load_template(command: str) -> CommandTemplate:
    text = read_package_text("templates", "commands", f"{command}.md")
    meta, body = frontmatter.load(text, f"templates/commands/{command}.md")
    return CommandTemplate(command, str(meta["description"]), body.lstrip("\n"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _marker(spec: AgentSpec, digest: str) -> str:
    if spec.file_format == "toml":
        return f"# {MARKER_KEY}: {__version__} sha256={digest}"
    return f"<!-- {MARKER_KEY}: {__version__} sha256={digest} -->"


def _toml_basic_multiline(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '""\\"')


def _toml_basic(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@cache
def work_package_template() -> str:
    """The packaged work-package template, filled as an example (``WP01``, ``<title>``).

    ``/spec-kitty.tasks`` embeds it and ``next``'s tasks prompt shows the same file, so
    an agent sees one shape of work-package file whichever way it is asked.
    """
    text = read_package_text("templates", "missions", "software-dev", "work-package.md")
    return text.replace("{{WP_ID}}", "WP01").replace("{{WP_TITLE}}", "<title>").strip()


_PLACEHOLDER_RE = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")


def _fill_body(spec: AgentSpec, template: CommandTemplate) -> str:
    if spec.file_format == "skill":
        skill_agents = ", ".join(a.key for a in AGENTS.values() if a.file_format == "skill")
        user_input = _USER_INPUT_FOR_SKILL.format(skill_agents=skill_agents)
        agent = SKILL_AGENT_PLACEHOLDER
    else:
        user_input = _USER_INPUT_WITH_TOKEN.format(token=spec.arg_token)
        agent = spec.key
    values = {"USER_INPUT": user_input, "AGENT": agent}
    if "{{WP_TEMPLATE}}" in template.body:
        values["WP_TEMPLATE"] = work_package_template()
    missing = sorted(set(_PLACEHOLDER_RE.findall(template.body)) - set(values))
    if missing:  # a packaging bug: never hand an agent a raw placeholder
        raise ValueError(f"templates/commands/{template.command}.md: no value for "
                         + ", ".join(missing))
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template.body)


def _assemble(spec: AgentSpec, template: CommandTemplate, marker: str) -> str:
    body = _fill_body(spec, template)
    if spec.file_format == "toml":
        description = _toml_basic(template.description)
        prompt = _toml_basic_multiline(body)
        return f'{marker}\ndescription = "{description}"\nprompt = """\n{prompt}"""\n'
    if spec.file_format == "skill":
        head = (
            f"name: spec-kitty.{template.command}\n"
            f"description: {template.description[:140]}\n"
            "user-invocable: true\n"
        )
    else:
        head = f"description: {template.description}\n"
    return f"---\n{head}---\n{marker}\n\n{body}"


def render(spec: AgentSpec, command: str) -> str:
    template = load_template(command)
    # The digest covers the file without its marker line, so it can be re-checked later.
    placeholder = "\0MARKER\0"
    without_marker = _strip_marker_line(_assemble(spec, template, placeholder), placeholder)
    return _assemble(spec, template, _marker(spec, _digest(without_marker)))


def _strip_marker_line(content: str, marker: str) -> str:
    lines = content.splitlines(keepends=True)
    return "".join(line for line in lines if line.rstrip("\r\n") != marker)


def expected_files(agent_keys: list[str]) -> dict[str, str]:
    """Project-relative path -> content for every command file of these agents."""
    out: dict[str, str] = {}
    for key in agent_keys:
        spec = AGENTS[key]
        for command in COMMANDS:
            out.setdefault(spec.relative_path(command), render(spec, command))
    return out


def read_marker(content: str) -> tuple[str, str] | None:
    for line in content.splitlines()[:MARKER_SEARCH_LINES]:
        match = _MARKER_RE.match(line.strip())
        if match:
            return match["version"], match["hash"]
    return None


def is_pristine(content: str) -> bool:
    marker = read_marker(content)
    if marker is None:
        return False
    kept = [
        line
        for line in content.splitlines(keepends=True)
        if not _MARKER_RE.match(line.strip())
    ]
    return _digest("".join(kept)) == marker[1]


def classify(path: Path, expected: str) -> FileState:
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FileState.MISSING
    except (OSError, UnicodeDecodeError):
        return FileState.FOREIGN
    if current == expected:
        return FileState.CURRENT
    if read_marker(current) is None:
        return FileState.FOREIGN
    return FileState.STALE if is_pristine(current) else FileState.EDITED
