"""Said out loud when tasks.md and the WP files disagree on dependencies.

``finalize-tasks`` refuses such a plan (``DEPENDENCY_CONFLICT``), but tasks.md and the
frontmatter can drift apart afterwards (a hand edit, a mission finalized by an older
tool). ``implement`` gates on the frontmatter, so a work package could start before the
code tasks.md says it needs: the board and ``next`` carry a warning naming both files.
"""

from __future__ import annotations

from collections.abc import Sequence

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.tasks_doc import dependency_disagreements, parse_tasks_doc
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.textio import read_text_if_exists
from spec_kitty.repo.work_packages import WorkPackage


def dependency_warnings(mission: Mission, wps: Sequence[WorkPackage]) -> list[str]:
    """One message per work package whose tasks.md dependencies differ from its file's
    (unreadable WP files are left out: they are reported, and refused, by name)."""
    path = mission.path / "tasks.md"
    try:
        text = read_text_if_exists(path)
    except SpecKittyError as exc:
        return [f"{exc.message} (its dependencies were not compared with the WP files)"]
    if text is None:
        return []
    files = {wp.wp_id: wp for wp in wps if wp.problem is None}
    declared = {wp_id: wp.dependencies for wp_id, wp in files.items()}
    return [
        f"{path}:{d.line}: tasks.md says {d.wp_id} depends on {', '.join(d.in_tasks) or 'none'}"
        f", but {mission.path / files[d.wp_id].file} says "
        f"{', '.join(d.in_frontmatter) or 'none'}; implement follows the WP file, so make "
        "them agree"
        for d in dependency_disagreements(parse_tasks_doc(text), declared)]
