"""Read files shipped inside the package (templates)."""

from __future__ import annotations

from importlib.resources import files


def read_package_text(*parts: str) -> str:
    resource = files("spec_kitty")
    for part in parts:
        resource = resource / part
    return resource.read_text(encoding="utf-8")
