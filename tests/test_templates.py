"""Template resolution: project override, then user-global, then the package default."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec_kitty.repo.templates import MISSION_TYPES, TemplateNotFound, resolve


@pytest.mark.parametrize("mission_type", MISSION_TYPES)
@pytest.mark.parametrize("name", ["spec.md", "plan.md", "tasks.md", "work-package.md"])
def test_package_defaults_exist_for_every_type(tmp_path: Path, mission_type: str,
                                               name: str) -> None:
    template = resolve(tmp_path, mission_type, name)
    assert template.source == f"package:{mission_type}/{name}"
    assert "{{" in template.text  # placeholders to fill


def test_resolution_order(tmp_path: Path, isolated_env: Path) -> None:
    home = isolated_env / ".kittify"  # SPEC_KITTY_HOME in tests
    project = tmp_path / "project"
    layers = [
        home / "templates" / "spec.md",
        home / "missions" / "software-dev" / "templates" / "spec.md",
        project / ".kittify" / "overrides" / "templates" / "spec.md",
        project / ".kittify" / "overrides" / "missions" / "software-dev" / "templates" / "spec.md",
    ]
    assert resolve(project, "software-dev", "spec.md").source.startswith("package:")
    for index, path in enumerate(layers):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"layer {index}")
        template = resolve(project, "software-dev", "spec.md")
        assert (template.text, template.source) == (f"layer {index}", str(path))
    # A type-specific override does not leak into other mission types.
    assert resolve(project, "research", "spec.md").text == "layer 2"


def test_unknown_type_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFound) as info:
        resolve(tmp_path, "poetry", "spec.md")
    assert info.value.code == "TEMPLATE_CONFIGURATION_ERROR"


def test_render_fills_placeholders(tmp_path: Path) -> None:
    text = resolve(tmp_path, "software-dev", "plan.md").render(
        {"MISSION_SLUG": "x-01ABCDEF", "FRIENDLY_NAME": "X", "DATE": "2026-01-01"})
    assert "x-01ABCDEF" in text and "{{MISSION_SLUG}}" not in text
