"""Missions into tickets: ``tracker project`` and the lane-change ticket mover.

:func:`project_mission` builds one :class:`WorkPackageTicket` per work package (title,
a summary of the WP prompt, its current lane) and hands them to the bound tracker.

:func:`on_status_events` is the post-write observer (registered in
:mod:`spec_kitty.services.status.status_observers`). It must never block or fail the status
write, so it does only cheap local checks (is a tracker bound, with egress consent?
did a lane change?) and then starts a detached ``spec-kitty tracker project --mission M
--wp … --from-hook`` process with its output in ``<runtime root>/trackers/hook.log``.
That process takes a per-mission lock and reads the lanes *when it runs*, so
back-to-back moves end with the ticket in the latest lane whatever order the processes
run in; it only moves tickets that already exist (``only_mapped``): nothing is created
behind your back.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from spec_kitty.core.status.lanes import Lane
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.repo.work_packages import load_work_packages
from spec_kitty.tracker.projection import WorkPackageTicket

SUMMARY_CHARS = 1500
LANE_EVENT_KEYS = ("to_lane",)


def _summary(mission: Mission, wp_file: str) -> str:
    from spec_kitty.repo.frontmatter import split

    path = mission.path / wp_file
    try:
        _, body = split(path.read_text(encoding="utf-8-sig"))
    except OSError:
        return ""
    text = body.strip()
    if len(text) > SUMMARY_CHARS:
        text = text[:SUMMARY_CHARS].rsplit("\n", 1)[0] + "\n\n…"
    return f"{text}\n\n_Work package {wp_file} of mission `{mission.slug}` (spec-kitty)._"


def tickets(project: ProjectPaths, mission: Mission,
            wp_ids: Iterable[str] | None = None) -> list[WorkPackageTicket]:
    """The tickets of a mission's work packages (all, or those in ``wp_ids``)."""
    wanted = set(wp_ids) if wp_ids else None
    lanes = event_log.load_snapshot(project, mission).get("work_packages", {})
    out = []
    for wp in load_work_packages(project, mission):
        if wanted is not None and wp.wp_id not in wanted:
            continue
        lane = str((lanes.get(wp.wp_id) or {}).get("lane") or Lane.PLANNED.value)
        out.append(WorkPackageTicket(mission.slug, wp.wp_id, wp.title,
                                     _summary(mission, wp.file), Lane(lane)))
    return out


def project_mission(project: ProjectPaths, mission: Mission, *,
                    wp_ids: Iterable[str] | None = None, only_mapped: bool = False
                    ) -> dict[str, Any]:
    """Create or update the mission's tickets in the bound tracker (under a lock)."""
    from filelock import FileLock

    from spec_kitty.tracker.preflight import hub_client
    from spec_kitty.tracker.service import TrackerService
    from spec_kitty.tracker.store import runtime_root

    digest = hashlib.sha256(f"{project.root}|{mission.slug}".encode()).hexdigest()[:16]
    lock_dir = runtime_root() / "trackers"
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with FileLock(str(lock_dir / f"project-{digest}.lock")):
        chosen = tickets(project, mission, wp_ids)
        service = TrackerService(project.root, hub_client_factory=hub_client)
        result = service.project(chosen, only_mapped=only_mapped)
    return {"mission_slug": mission.slug, **result}


def _lane_changes(events: Sequence[Any]) -> list[str]:
    wp_ids = []
    for event in events:
        if isinstance(event, dict) and event.get("to_lane") and event.get("wp_id"):
            wp_ids.append(str(event["wp_id"]))
    return sorted(set(wp_ids))


def _bound(repo_root: Path) -> bool:
    """A tracker is bound and consent given: without consent no mover process starts."""
    from spec_kitty.tracker.config import load_binding
    from spec_kitty.tracker.consent import evaluate_egress

    try:
        binding = load_binding(repo_root)
        return binding.is_configured and evaluate_egress(repo_root, binding).allowed
    except Exception:  # a broken config is reported by tracker commands, not here
        return False


def on_status_events(repo_root: Path, mission_slug: str, events: Sequence[Any]) -> None:
    """Observer: start the detached ticket mover when a bound project's lanes moved."""
    wp_ids = _lane_changes(events)
    if not wp_ids or not _bound(repo_root):
        return
    from spec_kitty.tracker.store import runtime_root

    log_dir = runtime_root() / "trackers"
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    argv = [sys.executable, "-m", "spec_kitty", "tracker", "project", "--mission",
            mission_slug, "--from-hook", "--json"]
    for wp_id in wp_ids:
        argv += ["--wp", wp_id]
    with open(log_dir / "hook.log", "ab") as log:
        subprocess.Popen(argv, cwd=repo_root, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=log, start_new_session=True, close_fds=True,
                         env={**os.environ, "SPEC_KITTY_NON_INTERACTIVE": "1"})
