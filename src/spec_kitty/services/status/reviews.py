"""Review feedback kept inside the mission, where the next implementer will find it.

A rejection (``move-task … --review-feedback-file F``) copies the text of ``F`` to
``kitty-specs/<mission>/reviews/<WPnn>-cycle-<n>.md`` with a small frontmatter
(who, when, which cycle). The event's ``review_result.feedback_path`` names that file
relative to the repository root, so a committed log never carries a host path, and
the feedback travels with the mission through git.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths

REVIEWS_DIR = "reviews"
APPROVED = "approved"
CHANGES_REQUESTED = "changes_requested"
_CYCLE_RE = re.compile(r"^(WP\d+)-cycle-(\d+)\.md$")


def reviews_dir(mission: Mission) -> Path:
    return mission.path / REVIEWS_DIR


def _read_source(source: Path) -> str:
    from spec_kitty.repo.textio import decode

    try:
        text = decode(source.read_bytes(), source)  # a leading BOM is not feedback
    except FileNotFoundError:
        raise SpecKittyError(f"Review feedback file {source} does not exist.",
                             "FEEDBACK_FILE_MISSING", details={"file": str(source)}) from None
    except (OSError, SpecKittyError) as exc:
        raise SpecKittyError(f"Review feedback file {source} cannot be read as UTF-8 text "
                             f"({getattr(exc, 'message', exc)}).", "FEEDBACK_FILE_UNREADABLE",
                             details={"file": str(source)}) from None
    if not text.strip():
        raise SpecKittyError(f"Review feedback file {source} is empty; say what must change.",
                             "FEEDBACK_FILE_EMPTY", details={"file": str(source)})
    return text


def next_cycle(mission: Mission, wp_id: str) -> int:
    cycles = [int(m.group(2)) for p in reviews_dir(mission).glob(f"{wp_id}-cycle-*.md")
              if (m := _CYCLE_RE.match(p.name)) and m.group(1) == wp_id]
    return max(cycles, default=0) + 1


def store_feedback(project: ProjectPaths, mission: Mission, wp_id: str, source: Path,
                   reviewer: str, reviewed_at: str) -> tuple[str, str]:
    """Copy the feedback into the mission; returns (repo-relative path, text)."""
    from spec_kitty.repo import frontmatter
    from spec_kitty.repo.atomic import write_text_atomic

    text = _read_source(source)
    cycle = next_cycle(mission, wp_id)
    target = reviews_dir(mission) / f"{wp_id}-cycle-{cycle}.md"
    meta = {"wp_id": wp_id, "cycle_number": cycle, "mission_slug": mission.slug,
            "reviewer": reviewer, "reviewed_at": reviewed_at, "verdict": CHANGES_REQUESTED}
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, frontmatter.dump(meta, text if text.endswith("\n") else
                                               text + "\n"))
    return str(target.relative_to(project.root)), text


def _resolve(project: ProjectPaths, feedback_path: str) -> Path | None:
    """The feedback file, only if it lies inside the project (symlinks followed)."""
    path = Path(feedback_path)
    if not path.is_absolute():  # older tools wrote host paths: fine if still inside
        path = project.root / path
    try:
        path.resolve().relative_to(project.root.resolve())
    except (ValueError, OSError):
        return None
    return path


def read_feedback(project: ProjectPaths, feedback_path: str) -> dict[str, Any] | None:
    """``{text, reviewer, reviewed_at, cycle_number}`` of a stored feedback file."""
    from spec_kitty.repo import frontmatter

    path = _resolve(project, feedback_path)
    if path is None:
        return None
    from spec_kitty.repo.textio import read_text

    try:
        raw = read_text(path)
    except SpecKittyError:
        return None
    try:
        meta, body = frontmatter.load(raw, path)
    except SpecKittyError:
        meta, body = {}, raw
    def text_of(key: str) -> str | None:
        value = meta.get(key)
        return None if value is None else str(value)

    return {"text": body.strip(), "reviewer": text_of("reviewer"),
            "reviewed_at": text_of("reviewed_at"), "cycle_number": meta.get("cycle_number")}


def pending_feedback(project: ProjectPaths, state: dict[str, Any]) -> dict[str, Any] | None:
    """The feedback of a work package's latest review, when it asked for changes."""
    result = state.get("review_result")
    if not isinstance(result, dict) or result.get("verdict") == APPROVED:
        return None
    feedback_path = result.get("feedback_path")
    if not feedback_path:
        return None
    stored = read_feedback(project, str(feedback_path)) or {}
    return {"reviewer": result.get("reviewer") or stored.get("reviewer"),
            "verdict": result.get("verdict"), "reference": result.get("reference"),
            "feedback_path": feedback_path, "reviewed_at": stored.get("reviewed_at"),
            "cycle_number": stored.get("cycle_number"), "text": stored.get("text")}
