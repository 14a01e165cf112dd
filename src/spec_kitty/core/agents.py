"""Which AI agents we integrate with and where each expects its command files.

Table-driven on purpose: supporting a new agent is one :class:`AgentSpec` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spec_kitty.core.errors import SpecKittyError

FileFormat = Literal["markdown", "toml", "skill"]

# Command prompts every agent gets, in the order they are listed in help texts.
COMMANDS: tuple[str, ...] = (
    "specify",
    "plan",
    "tasks",
    "implement",
    "review",
    "accept",
    "merge",
    "status",
    "dashboard",
    "next",
)


@dataclass(frozen=True)
class AgentSpec:
    key: str
    name: str
    directory: str  # project-relative
    file_format: FileFormat
    suffix: str = ".md"  # markdown/toml file suffix; unused for skills
    arg_token: str = "$ARGUMENTS"

    def relative_path(self, command: str) -> str:
        if self.file_format == "skill":
            return f"{self.directory}/spec-kitty.{command}/SKILL.md"
        return f"{self.directory}/spec-kitty.{command}{self.suffix}"


AGENTS: dict[str, AgentSpec] = {
    spec.key: spec
    for spec in (
        AgentSpec("claude", "Claude Code", ".claude/commands", "markdown"),
        AgentSpec("copilot", "GitHub Copilot", ".github/prompts", "markdown", ".prompt.md"),
        AgentSpec("gemini", "Gemini CLI", ".gemini/commands", "toml", ".toml", "{{args}}"),
        AgentSpec("qwen", "Qwen Code", ".qwen/commands", "toml", ".toml", "{{args}}"),
        AgentSpec("cursor", "Cursor", ".cursor/commands", "markdown"),
        AgentSpec("opencode", "opencode", ".opencode/command", "markdown"),
        AgentSpec("windsurf", "Windsurf", ".windsurf/workflows", "markdown"),
        AgentSpec("kilocode", "Kilo Code", ".kilocode/workflows", "markdown"),
        AgentSpec("auggie", "Auggie CLI", ".augment/commands", "markdown"),
        AgentSpec("q", "Amazon Q Developer CLI", ".amazonq/prompts", "markdown"),
        AgentSpec("kiro", "Kiro", ".kiro/prompts", "markdown"),
        AgentSpec("antigravity", "Antigravity", ".agent/workflows", "markdown"),
        # Command-skill agents share one project-local skills directory.
        AgentSpec("codex", "Codex CLI", ".agents/skills", "skill", arg_token=""),
        AgentSpec("vibe", "Mistral Vibe", ".agents/skills", "skill", arg_token=""),
        AgentSpec("pi", "Pi", ".agents/skills", "skill", arg_token=""),
        AgentSpec("letta", "Letta Code", ".agents/skills", "skill", arg_token=""),
    )
}


def closest_agent(key: str) -> str | None:
    """The supported agent key nearest to a misspelled one (``claud`` → ``claude``)."""
    import difflib

    lowered = key.strip().lower()
    by_name = {spec.name.lower(): spec.key for spec in AGENTS.values()}
    if lowered in by_name:  # "claude code", "gemini cli"
        return by_name[lowered]
    match = difflib.get_close_matches(lowered, list(AGENTS), n=1, cutoff=0.6)
    return match[0] if match else None


class UnknownAgentError(SpecKittyError):
    """``details``: ``unknown`` keys, ``suggestions`` {unknown: closest key}, ``valid``."""

    def __init__(self, unknown: list[str]) -> None:
        valid = ", ".join(AGENTS)
        suggestions = {key: hint for key in unknown if (hint := closest_agent(key))}
        did_you_mean = "".join(f" Did you mean {hint!r} for {key!r}?"
                               for key, hint in suggestions.items())
        super().__init__(
            f"Unknown agent key(s): {', '.join(unknown)}.{did_you_mean} Valid keys: {valid}",
            "UNKNOWN_AGENT",
            details={"unknown": unknown, "suggestions": suggestions, "valid": list(AGENTS)},
        )


def parse_agent_keys(raw: str) -> list[str]:
    """Split ``"claude, Codex;gemini"`` into validated, de-duplicated keys (order kept)."""
    keys: list[str] = []
    for part in raw.replace(";", ",").split(","):
        key = part.strip().lower()
        if key and key not in keys:
            keys.append(key)
    unknown = [k for k in keys if k not in AGENTS]
    if unknown:
        raise UnknownAgentError(unknown)
    if not keys:
        raise SpecKittyError(
            "No agent selected. Pass --ai with one or more of: " + ", ".join(AGENTS),
            "NO_AGENT_SELECTED",
        )
    return keys
