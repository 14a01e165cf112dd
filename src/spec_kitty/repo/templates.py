"""Mission document templates, resolved from the most specific place that has one.

Order (first hit wins):
1. ``.kittify/overrides/missions/<type>/templates/<name>`` (this project, this type)
2. ``.kittify/overrides/templates/<name>`` (this project)
3. ``$SPEC_KITTY_HOME/missions/<type>/templates/<name>`` (this user; default ``~/.kittify``)
4. ``$SPEC_KITTY_HOME/templates/<name>``
5. the package's own ``templates/missions/<type>/<name>``
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

from spec_kitty.core.errors import SpecKittyError

MISSION_TYPES = ("software-dev", "research", "documentation")
TEMPLATE_NAMES = ("spec.md", "plan.md", "tasks.md", "work-package.md")


def user_home() -> Path:
    env = os.environ.get("SPEC_KITTY_HOME")
    return Path(env) if env else Path.home() / ".kittify"


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    source: str  # where it came from, for messages and JSON output

    def render(self, values: dict[str, str]) -> str:
        text = self.text
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        return text


class TemplateNotFound(SpecKittyError):
    def __init__(self, mission_type: str, name: str) -> None:
        super().__init__(
            f"No {name} template for mission type {mission_type!r}. "
            f"Known types: {', '.join(MISSION_TYPES)}",
            "TEMPLATE_CONFIGURATION_ERROR",
        )


def candidates(project_root: Path, mission_type: str, name: str) -> list[Path]:
    home = user_home()
    return [
        project_root / ".kittify" / "overrides" / "missions" / mission_type / "templates" / name,
        project_root / ".kittify" / "overrides" / "templates" / name,
        home / "missions" / mission_type / "templates" / name,
        home / "templates" / name,
    ]


def resolve(project_root: Path, mission_type: str, name: str) -> Template:
    for path in candidates(project_root, mission_type, name):
        if path.is_file():
            from spec_kitty.repo.textio import read_text

            return Template(name, read_text(path), str(path))
    resource = files("spec_kitty") / "templates" / "missions" / mission_type / name
    if not resource.is_file():
        raise TemplateNotFound(mission_type, name)
    return Template(name, resource.read_text(encoding="utf-8"), f"package:{mission_type}/{name}")


def standard_values(mission_slug: str, friendly_name: str, purpose: str = "") -> dict[str, str]:
    return {
        "MISSION_SLUG": mission_slug,
        "FRIENDLY_NAME": friendly_name,
        "PURPOSE": purpose or "[one line: what the user asked for]",
        "DATE": datetime.now(UTC).date().isoformat(),
    }
