"""The dashboard's sync panel: is this project's board reaching the team hub, and where.

Built only from the existing read-only sync services (``sync.status.status_report``, the
same report as ``spec-kitty sync status --json``, and the project's identity from
``.kittify/config.yaml``). With hosted features off (``SPEC_KITTY_ENABLE_SAAS_SYNC``)
nothing outside the project is read.

Shape: ``{"enabled": False}`` or ``{"enabled": True, "drain_ready": bool,
"blockers": [{code, message}], "queued": int (events waiting in this login's queue,
all projects), "permanent_failures": int, "last_delivered": {at, synced, failed,
blocker, ...}|None, "hub_url": str|None, "team": str|None, "project_uuid": str|None,
"mission_base_url": str|None, "daemon": {state, pid, port, package_version, coherent,
differs}}`` (the background daemon as its owner record says, no health check: see
``sync.boundary.identity.daemon_summary``). ``mission_base_url`` + a mission slug is the mission's
page on the hub; it is set once this login delivered to a hub and the project has an
identity (a mission's page exists there once its events are delivered).
"""

from __future__ import annotations

from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.paths import ProjectPaths


def sync_state(project: ProjectPaths) -> dict[str, Any]:
    """The sync panel of ``project`` (see the module docstring)."""
    from spec_kitty.hosted import gate

    if not gate.is_enabled():
        return {"enabled": False}
    from spec_kitty.sync.context import project_identity
    from spec_kitty.sync.status import status_report

    report = status_report()
    scope = report.get("scope") or {}
    last = report.get("last_sync")
    try:
        project_uuid: str | None = project_identity(project)["uuid"]
    except SpecKittyError:
        project_uuid = None
    hub = (last or {}).get("server_url") or report.get("server_url")
    team = scope.get("team")
    linked = bool(last and hub and team and project_uuid and team != "no-team")
    return {
        "enabled": True, "drain_ready": report["drain_ready"],
        "blockers": report["blockers"], "queued": report["queue"]["depth"],
        "permanent_failures": report["queue"]["permanent_failures"],
        "last_delivered": last, "hub_url": hub, "team": team, "project_uuid": project_uuid,
        "mission_base_url": f"{str(hub).rstrip('/')}/t/{team}/p/{project_uuid}/m/"
        if linked else None,
        "daemon": report["daemon"],
    }
