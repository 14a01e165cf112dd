"""What ``spec-kitty sync daemon status|start|stop`` do; the CLI only renders the dicts.

Shapes (JSON-ready)::

    status → {"running": bool, "pid", "port", "owner": <owner record> | None,
              "health": <GET /api/health> | None, "policy": "auto" | "manual",
              "policy_warning", "log_file", "daemon_dir"}
    start  → DaemonStartResult.to_json()
    stop   → {"result": "stopped" | "not_running" | "still_running", "pid"}
"""

from __future__ import annotations

from typing import Any

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import client, launcher
from spec_kitty.sync.daemon.logs import log_file
from spec_kitty.sync.daemon.owner import daemon_dir
from spec_kitty.sync.daemon.policy import (
    DaemonIntent,
    DaemonStartResult,
    ensure_sync_daemon_running,
    read_policy,
)


def status(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """The running daemon as its owner record and health answer describe it."""
    paths = paths or RuntimePaths.current()
    record = launcher.live_record(paths)
    health = None
    if record is not None:
        try:
            health = client.health(record.port)
        except client.DaemonUnreachable:
            health = None
    policy, warning = read_policy(paths)
    return {"running": record is not None and health is not None,
            "pid": record.pid if record else None, "port": record.port if record else None,
            "owner": record.to_json() if record else None, "health": health,
            "policy": str(policy), "policy_warning": warning,
            "log_file": str(log_file(paths)), "daemon_dir": str(daemon_dir(paths))}


def start(paths: RuntimePaths | None = None) -> DaemonStartResult:
    """Start (or reuse, or replace an older) daemon and wait until it is healthy.

    An explicit start ignores the manual policy; the other rules of
    :func:`~spec_kitty.sync.daemon.policy.ensure_sync_daemon_running` apply.
    """
    return ensure_sync_daemon_running(DaemonIntent.REMOTE_REQUIRED, paths=paths, wait=True,
                                      explicit=True)


def stop(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """Ask the daemon to exit after its drain and wait for its confirmed exit."""
    paths = paths or RuntimePaths.current()
    record = launcher.live_record(paths)
    if record is None:
        return {"result": "not_running", "pid": None}
    gone = launcher.stop(paths, record)
    return {"result": "stopped" if gone else "still_running", "pid": record.pid}
