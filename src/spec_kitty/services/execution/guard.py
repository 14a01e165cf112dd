"""The pre-commit ownership guard that runs inside lane worktrees.

On a lane branch a commit may only stage files the current work package owns, and
never anything under ``kitty-specs/``: status and planning files are written by
spec-kitty in the main checkout. Merge commits (bringing in a dependency lane) pass.

git hands the hook the index the commit will be made from in ``GIT_INDEX_FILE``: the
real index for a plain commit, a temporary one for ``commit -a``, ``commit -o``,
``commit <paths>`` and ``--amend`` with paths. The guard reads exactly that index, so
every form of commit is checked. (``--no-verify`` skips hooks by design; ``merge``'s
preflight catches such commits.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.core.ownership import matches
from spec_kitty.repo.paths import SPECS_DIR, find_project_root

LANE_BRANCH_RE = re.compile(r"^kitty/mission-(?P<slug>.+)-(?P<lane>lane-[a-z]+)$")


@dataclass
class GuardResult:
    ok: bool
    message: str
    refused: list[str]


def _owned_globs(root: Path, slug: str, lane_id: str) -> tuple[str | None, list[str]]:
    from spec_kitty.repo.lanes_file import read_lanes
    from spec_kitty.repo.missions import Mission
    from spec_kitty.repo.paths import ProjectPaths
    from spec_kitty.repo.work_packages import load_work_packages, require_readable
    from spec_kitty.services.execution.workspaces import read_context

    project = ProjectPaths(root)
    mission = Mission(project.specs_dir / slug)
    context = read_context(project, mission, lane_id)
    wp_id = context.get("current_wp")
    if wp_id:
        for wp in load_work_packages(project, mission):
            if wp.wp_id == wp_id:
                # An unreadable WP file has no known owned files: refuse, naming it.
                return wp_id, require_readable(mission, wp).owned_files
    lane: dict[str, Any] = next((entry for entry in read_lanes(mission)["lanes"]
                 if entry["lane_id"] == lane_id), {})
    return None, list(lane.get("write_scope", []))


def _commit_index(cwd: Path) -> dict[str, str] | None:
    """``GIT_INDEX_FILE`` as git set it for this hook (made absolute), if it did."""
    import os

    value = os.environ.get("GIT_INDEX_FILE")
    if not value:
        return None
    path = Path(value)
    return {"GIT_INDEX_FILE": str(path if path.is_absolute() else cwd / path)}


def check_staged(cwd: Path) -> GuardResult:
    """Check what the commit being made in ``cwd`` would contain (see module docstring)."""
    from spec_kitty.git import history, repo, runner

    branch = repo.current_branch(cwd)
    match = LANE_BRANCH_RE.match(branch or "")
    if match is None:
        return GuardResult(True, "not a lane branch", [])
    if history.merge_in_progress(cwd):
        return GuardResult(True, "merge commit", [])
    staged = [line for line in runner.output(
        ["diff", "--cached", "--name-only", "--no-renames"], cwd,
        env=_commit_index(cwd)).splitlines() if line]
    planning = [p for p in staged if p == SPECS_DIR or p.startswith(SPECS_DIR + "/")]
    wp_id, globs = _owned_globs(find_project_root(cwd), match["slug"], match["lane"])
    outside = [p for p in staged if p not in planning and not any(matches(g, p) for g in globs)]
    if not planning and not outside:
        return GuardResult(True, "all staged files are owned", [])
    lines = [f"spec-kitty: commit refused on {branch}."]
    if planning:
        lines.append("  kitty-specs/ is never edited on a lane branch (spec-kitty writes status "
                     "to the main checkout): " + ", ".join(planning))
    if outside:
        owner = wp_id or match["lane"]
        lines.append(f"  not owned by {owner} (owned_files: {', '.join(globs) or 'none'}): "
                     + ", ".join(outside))
    lines.append("  Unstage them (git restore --staged <file>) or change owned_files in the "
                 "work package and re-run finalize-tasks.")
    return GuardResult(False, "\n".join(lines), planning + outside)
