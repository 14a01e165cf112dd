"""A mission's documents and work-package files, as markdown or as safe HTML.

Names are looked up in a fixed table (``spec``, ``plan``, …) or matched as ``WPnn``
against the files in ``tasks/``; a name never becomes part of a path, so no request
can reach outside the mission. Symlinks that lead out of the mission are refused too.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from spec_kitty.core.ids import canonical_wp_id
from spec_kitty.dashboard.errors import ArtifactNotFound, ArtifactUnreadable
from spec_kitty.dashboard.readmodel import DOCUMENTS
from spec_kitty.repo import frontmatter
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.work_packages import wp_files, wp_id_of_file

MAX_ARTIFACT_BYTES = 2_000_000
FORMATS = ("html", "markdown")


def available(mission: Mission) -> list[dict[str, str]]:
    """Every artifact the mission has, documents first, then work packages."""
    found = [{"name": name, "kind": "document", "file": file}
             for name, file in DOCUMENTS.items() if (mission.path / file).is_file()]
    for path in wp_files(mission):
        wp_id = wp_id_of_file(path.name)
        if wp_id:
            found.append({"name": wp_id, "kind": "work_package",
                          "file": str(path.relative_to(mission.path))})
    return found


def _locate(mission: Mission, name: str) -> Path | None:
    if name in DOCUMENTS:
        path = mission.path / DOCUMENTS[name]
        return path if path.is_file() else None
    wp_id = canonical_wp_id(name)  # wp1, WP001: the same WP01 as everywhere
    if wp_id is not None:
        for path in wp_files(mission):
            if wp_id_of_file(path.name) == wp_id:
                return path
    return None


def _read(mission: Mission, path: Path) -> str:
    resolved = path.resolve()
    if not resolved.is_relative_to(mission.path.resolve()):
        raise ArtifactUnreadable(path, "it links outside the mission directory")
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise ArtifactUnreadable(path, exc.strerror or "unreadable") from None
    if len(data) > MAX_ARTIFACT_BYTES:
        raise ArtifactUnreadable(path, f"larger than {MAX_ARTIFACT_BYTES} bytes")
    # Shown, not parsed: undecodable bytes become U+FFFD; a BOM is dropped.
    return data.decode("utf-8-sig", errors="replace")


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # html=False escapes raw HTML in the source; markdown-it also refuses
    # javascript:/vbscript:/data: link targets by default.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def render_markdown(text: str) -> str:
    # Template authoring notes live in HTML comments; a reader of the page never needs them.
    return _markdown().render(_HTML_COMMENT.sub("", text))


def artifact(mission: Mission, name: str, fmt: str = "html") -> dict[str, Any]:
    """One artifact; work packages come with their frontmatter split off."""
    path = _locate(mission, name)
    if path is None:
        raise ArtifactNotFound(mission.slug, name, [a["name"] for a in available(mission)])
    text = _read(mission, path)
    wp_id = canonical_wp_id(name)
    meta_yaml, body = frontmatter.split(text) if wp_id else (None, text)
    result: dict[str, Any] = {"mission": mission.slug, "name": wp_id or name,
                              "file": str(path.relative_to(mission.path)),
                              "format": fmt, "frontmatter": meta_yaml}
    if fmt == "markdown":
        result["markdown"] = body
    else:
        result["html"] = render_markdown(body)
    return result
