"""Read-side views of mission status for the CLI: one board, all missions, what to show.

The board itself is built by :mod:`spec_kitty.core.status.board` (shared with the dashboard
and the hub); this module only loads the snapshot and WP files and adds the mission's
identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.status.board import build_board, summary_row
from spec_kitty.core.status.progress import WEIGHTED_NOTE
from spec_kitty.repo.missions import Mission, list_missions, select_mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages

NO_MISSIONS_NEXT_STEP = ("No missions yet. Ask your agent to run /spec-kitty.specify, or "
                         "create one yourself: spec-kitty agent mission create <slug> --json")


def board_warnings(project: ProjectPaths, mission: Mission, wps: Sequence[WorkPackage],
                   unmerged: str | None = None) -> list[str]:
    """Every warning shown with a mission's board, by the CLI and the dashboard alike: a
    missing meta.json, a log git lists as unmerged (``unmerged`` when the caller already
    asked git), tasks.md and a WP file naming different dependencies."""
    from spec_kitty.services.status.status_health import drivers_missing_warning, unmerged_warning

    found = mission.warnings()
    unmerged = unmerged or unmerged_warning(project, mission)
    if unmerged:
        found.append(unmerged)
    drivers = drivers_missing_warning(project)
    if drivers:
        found.append(drivers)
    return found + dependency_warnings(mission, wps)


def missing_wp_files(project: ProjectPaths, mission: Mission, snapshot: dict[str, Any],
                     wps: Sequence[WorkPackage]) -> dict[str, str]:
    """``{wp_id: message}`` for unfinished work packages the log knows but whose file is
    gone (a deleted ``tasks/`` folder): nobody can implement them, so they are named."""
    have = {wp.wp_id for wp in wps}
    tasks = mission.path / "tasks"
    try:
        where = tasks.relative_to(project.root)
    except ValueError:
        where = tasks
    return {wp_id: f"{wp_id} has status events but no file in {tasks}; restore it with "
                   f"`git checkout HEAD -- {where}` (or cancel the work package)"
            for wp_id, state in sorted(snapshot["work_packages"].items())
            if wp_id not in have and state.get("lane") not in ("done", "canceled")}


# finalize-tasks refuses tasks.md and a WP file naming different dependencies
# (DEPENDENCY_CONFLICT), but they can drift apart afterwards (a hand edit, a mission
# finalized by an older tool); implement gates on the WP file, so a work package could
# start before the code tasks.md says it needs: boards and `next` say so.
def dependency_cycles(mission: Mission, wps: Sequence[WorkPackage]) -> list[str]:
    """One message per dependency cycle among the WP files, naming each file's field.

    finalize-tasks refuses cycles; one made by editing a WP file afterwards would
    otherwise only show as work packages that wait for each other forever.
    """
    from spec_kitty.core.graph import find_cycles

    files = {wp.wp_id: wp for wp in wps if wp.problem is None}
    messages = []
    for cycle in find_cycles({wp_id: wp.dependencies for wp_id, wp in files.items()}):
        edges = "; ".join(f"{mission.path / files[a].file}: dependencies: {b}"
                          for a, b in zip(cycle, cycle[1:], strict=False))
        messages.append(f"dependency cycle {' → '.join(cycle)}: none of these work packages "
                        f"can ever start; remove one of the edges ({edges})")
    return messages


def dependency_warnings(mission: Mission, wps: Sequence[WorkPackage]) -> list[str]:
    """One message per dependency cycle (:func:`dependency_cycles`) and per work package
    whose tasks.md dependencies differ from its file's (unreadable WP files are left
    out: they are reported, and refused, by name)."""
    from spec_kitty.core.tasks_doc import dependency_disagreements, parse_tasks_doc
    from spec_kitty.repo.textio import read_text_if_exists

    path = mission.path / "tasks.md"
    try:
        text = read_text_if_exists(path)
    except SpecKittyError as exc:
        return [f"{exc.message} (its dependencies were not compared with the WP files)"]
    cycles = dependency_cycles(mission, wps)
    if text is None:
        return cycles
    files = {wp.wp_id: wp for wp in wps if wp.problem is None}
    declared = {wp_id: wp.dependencies for wp_id, wp in files.items()}
    return cycles + [
        f"{path}:{d.line}: tasks.md says {d.wp_id} depends on {', '.join(d.in_tasks) or 'none'}"
        f", but {mission.path / files[d.wp_id].file} says "
        f"{', '.join(d.in_frontmatter) or 'none'}; implement follows the WP file, so make "
        "them agree"
        for d in dependency_disagreements(parse_tasks_doc(text), declared)]


def mission_board(project: ProjectPaths, mission: Mission) -> dict[str, Any]:
    """The board of one mission (see :func:`spec_kitty.core.status.board.build_board`) with its
    identity, ``warnings`` (a missing meta.json, an unmerged log, tasks.md and a WP
    file disagreeing on dependencies) and ``blocked``
    (``{wp_id: {reason, actor, at}}``).

    Raises ``EVENT_LOG_INVALID`` (file and line) when the log cannot be read and
    ``STATUS_LOG_MISSING`` when it was deleted: a board of zeros is never shown instead.
    """
    from spec_kitty.services.status.status_health import board_notes

    notes = board_notes(project, mission)
    snapshot = event_log.load_snapshot(project, mission)
    wps = load_work_packages(project, mission)
    board = build_board(snapshot, wps, notes["blocked"])
    figures = board["progress"]
    return {
        "mission_slug": mission.slug,
        "mission_id": mission.mission_id,
        "mission_number": mission.mission_number,
        "mission_type": mission.mission_type,
        "friendly_name": mission.friendly_name,
        "total_wps": figures["total_wps"],
        "progress_percentage": figures["progress_percentage"],
        "weighted_percentage": figures["weighted_percentage"],
        "done_count": figures["done_wps"],
        "materialized_at": snapshot["materialized_at"],
        **board,
        "warnings": board_warnings(project, mission, wps, *notes["warnings"][:1])
        + list(missing_wp_files(project, mission, snapshot, wps).values()),
        "blocked": notes["blocked"],
    }


def _summary_row(project: ProjectPaths, mission: Mission) -> dict[str, Any]:
    row: dict[str, Any] = {"mission_slug": mission.slug}
    try:
        snapshot = event_log.load_snapshot(project, mission)
        row["mission_id"] = mission.mission_id
        row["friendly_name"] = mission.friendly_name
    except SpecKittyError as exc:
        row.update(error=exc.message, error_code=exc.code)
        return row
    row.update(summary_row(snapshot))
    warnings = mission.warnings()
    if warnings:
        row["warnings"] = warnings
    return row


def all_missions_summary(project: ProjectPaths) -> dict[str, Any]:
    """One row per mission; a mission whose log cannot be read is reported, not zeroed.

    Shape: ``{"missions": [row], "count", "unreadable": [slug], "weighted_note"}`` plus
    ``error``/``error_code`` (``MISSIONS_UNREADABLE``) when some mission cannot be read,
    and ``next_step`` when there are none.
    """
    rows = [_summary_row(project, mission) for mission in list_missions(project)]
    unreadable = [r["mission_slug"] for r in rows if "error" in r]
    summary: dict[str, Any] = {"missions": rows, "count": len(rows), "unreadable": unreadable,
                               "weighted_note": WEIGHTED_NOTE}
    if not rows:
        summary["next_step"] = NO_MISSIONS_NEXT_STEP
    if unreadable:
        summary["error"] = (f"{len(unreadable)} mission(s) cannot be read: "
                            + ", ".join(unreadable))
        summary["error_code"] = "MISSIONS_UNREADABLE"
    return summary


def status_view(project: ProjectPaths, handle: str | None,
                all_missions: bool) -> tuple[str, dict[str, Any]]:
    """What ``spec-kitty status`` shows: ``("board", board)`` for one mission, else
    ``("summary", summary)`` (``--all``, several missions and no ``--mission``, or none)."""
    if all_missions:
        return "summary", all_missions_summary(project)
    if handle is None:
        missions = list_missions(project)
        if len(missions) != 1:
            return "summary", all_missions_summary(project)
        return "board", mission_board(project, missions[0])
    return "board", mission_board(project, select_mission(project, handle))
