"""Is a mission's event log where it should be, and whole?

Two ways ordinary git use damages a log, and both must be said out loud instead of
being read as "nothing happened yet":

- the log was deleted or emptied (``rm``, a bad checkout) while ``status.json``,
  ``lanes.json`` or ``HEAD`` show it had events: reading it as empty would offer
  ``finalize-tasks``, which re-seeds every work package as planned;
- a ``git merge`` left it unmerged (the merge driver could not run), so the working
  tree silently holds only one side's events.

The healthy path costs one ``stat``; git is asked only when something looks wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths, git_common_dir

GIT_OPERATION_MARKERS = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge",
                         "rebase-apply", "AUTO_MERGE")


class StatusLogMissing(SpecKittyError):
    """The log is gone or empty although the mission had recorded events."""

    def __init__(self, mission: Mission, rel: str, evidence: list[str], in_head: bool) -> None:
        restore = (f"git restore --source=HEAD -- {rel}" if in_head else
                   f"git log --all --format='%h %s' -- {rel}  (then: git restore "
                   f"--source=<commit> -- {rel})")
        super().__init__(
            f"The status log {rel} is missing or empty, but {'; '.join(evidence)}. "
            "Nothing was read or written; re-running finalize-tasks would wrongly reset "
            "every work package to planned.",
            "STATUS_LOG_MISSING",
            details={"mission_slug": mission.slug, "file": rel, "evidence": evidence},
            hint=f"Restore the log from git: {restore}",
        )


def _recorded_events(mission: Mission) -> int:
    from spec_kitty.repo.textio import read_text

    try:
        data = json.loads(read_text(mission.snapshot_file))
    except (SpecKittyError, ValueError):
        return 0
    count = data.get("event_count") if isinstance(data, dict) else None
    return count if isinstance(count, int) else 0


def _size_in_head(root: Path, rel: str) -> int:
    from spec_kitty.git import runner

    try:
        proc = runner.run(["cat-file", "-s", f"HEAD:{rel}"], root, check=False)
    except SpecKittyError:
        return 0
    return int(proc.stdout.strip() or 0) if proc.returncode == 0 else 0


def ensure_log_present(project: ProjectPaths, mission: Mission) -> None:
    """Raise :class:`StatusLogMissing` when the log vanished after events were recorded."""
    try:
        if mission.events_file.stat().st_size > 0:
            return
    except FileNotFoundError:
        pass
    rel = str(mission.events_file.relative_to(project.root))
    evidence = []
    recorded = _recorded_events(mission)
    if recorded:
        evidence.append(f"status.json says {recorded} transition(s) were recorded")
    if mission.lanes_file.exists():
        evidence.append("lanes.json shows the work packages were finalized")
    in_head = _size_in_head(project.root, rel) > 0
    if in_head:
        evidence.append("the last commit (HEAD) has a non-empty log")
    if evidence:
        raise StatusLogMissing(mission, rel, evidence, in_head)


def unmerged_warning(project: ProjectPaths, mission: Mission) -> str | None:
    """A warning while git lists the mission's log (or status.json) as unmerged."""
    common = git_common_dir(project.root)
    if common is None or not any((common / m).exists() for m in GIT_OPERATION_MARKERS):
        return None
    from spec_kitty.git import runner

    rels = [str(p.relative_to(project.root)) for p in (mission.events_file,
                                                       mission.snapshot_file)]
    try:
        out = runner.output(["ls-files", "-u", "--", *rels], project.root)
    except SpecKittyError:
        return None
    unmerged = sorted({line.split("\t", 1)[1] for line in out.splitlines() if "\t" in line})
    if not unmerged:
        return None
    return (f"{', '.join(unmerged)} is unmerged: the working tree may hold only one side's "
            "events. Check `spec-kitty verify-setup` (the merge driver must run), then "
            f"`git checkout -m -- {' '.join(unmerged)}` re-runs the merge with the driver; "
            "`git add` the result and finish the merge.")


def drivers_missing_warning(project: ProjectPaths) -> str | None:
    """A warning when ``.gitattributes`` routes the status files to spec-kitty's merge
    drivers but this clone never registered them (``.git/config`` is not cloned): the
    next merge or pull of status files would write conflict markers into the log."""
    from spec_kitty.git import runner
    from spec_kitty.repo.textio import read_text_if_exists
    from spec_kitty.services.project.merge_drivers import DRIVERS

    try:
        attributes = read_text_if_exists(project.root / ".gitattributes") or ""
    except SpecKittyError:
        return None
    named = [d.name for d in DRIVERS if f"merge={d.name}" in attributes]
    if not named:
        return None
    # One git call for every driver: boards are drawn on the agents' hot path.
    found = runner.run(["config", "--get-regexp", r"^merge\.spec-kitty-.*\.driver$"],
                       project.root, check=False).stdout
    registered = {line.split(" ", 1)[0].split(".")[1] for line in found.splitlines()}
    missing = [name for name in named if name not in registered]
    if not missing:
        return None
    return (f"this clone has not registered the merge driver(s) {', '.join(missing)} that "
            ".gitattributes names: a merge or pull of status files would conflict. Run "
            "`spec-kitty init` here once (it only adds what is missing).")


def board_notes(project: ProjectPaths, mission: Mission) -> dict[str, Any]:
    """What a board shows besides its cards: ``warnings`` (an unmerged log) and why
    work packages are ``blocked`` (``{wp_id: {reason, actor, at}}``).

    Raises :class:`StatusLogMissing` first: a deleted log is never shown as a board.
    """
    from spec_kitty.repo.status import event_log
    from spec_kitty.services.status.wp_history import blocked_details

    ensure_log_present(project, mission)
    warning = unmerged_warning(project, mission)
    blocked = blocked_details(event_log.current_state(project, mission))
    return {"warnings": [warning] if warning else [], "blocked": blocked}
