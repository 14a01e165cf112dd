"""What ``spec-kitty sync daemon status|start|stop`` do; the CLI only renders the dicts.

Shapes (JSON-ready)::

    status → {"running": bool, "state": "running" | "unresponsive" | "not_running",
              "pid", "port", "owner": <owner record> | None,
              "health": <GET /api/health> | None, "policy": "auto" | "manual",
              "policy_warning", "log_file", "daemon_dir"}
    start  → DaemonStartResult.to_json()
    stop   → {"result": "stopped" | "not_running" | "still_running", "pid",
              "unresponsive": bool (it did not answer; killed after a short grace)}
    sync_now → {"started", "skipped_reason", "pid", "triggered": bool, "message"}
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
from spec_kitty.sync.daemon.settings import HEALTH_TIMEOUT


def status(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """The running daemon as its owner record and health answer describe it."""
    paths = paths or RuntimePaths.current()
    record = launcher.live_record(paths)
    health = None
    if record is not None:
        try:
            health = client.health(record.port, timeout=HEALTH_TIMEOUT)
        except client.DaemonUnreachable:
            health = None
    policy, warning = read_policy(paths)
    state = "not_running" if record is None else (
        "running" if health is not None else "unresponsive")
    return {"running": state == "running", "state": state,
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
        return {"result": "not_running", "pid": None, "unresponsive": False}
    try:
        client.health(record.port, timeout=HEALTH_TIMEOUT)
        unresponsive = False
    except client.DaemonUnreachable:
        unresponsive = True
    gone = launcher.stop(paths, record, unresponsive=unresponsive)
    return {"result": "stopped" if gone else "still_running", "pid": record.pid,
            "unresponsive": unresponsive}


def sync_now(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """The dashboard's "Sync now": ``REMOTE_REQUIRED`` (the policy, gate and login still
    decide, without waiting), then a trigger to the daemon that runs.

    ``triggered`` is true when a running daemon accepted the trigger; a daemon this call
    started (``started`` true) drains at once without one. Under the manual policy a
    daemon started by hand is still triggered. Never raises for the daemon's sake: a
    problem ends up in ``skipped_reason``/``message``.
    """
    paths = paths or RuntimePaths.current()
    result = ensure_sync_daemon_running(DaemonIntent.REMOTE_REQUIRED, paths=paths)
    answer = {key: value for key, value in result.to_json().items() if key != "warning"}
    answer["triggered"] = False
    if result.started or result.skipped_reason not in (None, "policy_manual"):
        return answer  # started (drains at once), or nothing may be contacted
    record = launcher.live_record(paths)
    if record is None:
        return answer
    try:
        answer["triggered"] = client.trigger(paths, record.port, timeout=2.0)
    except client.DaemonUnreachable:
        answer["message"] = (f"The daemon (pid {record.pid}) does not answer; run "
                             "`spec-kitty sync doctor`.")
        answer["skipped_reason"] = answer["skipped_reason"] or "unresponsive"
        return answer
    answer["pid"] = record.pid
    if answer["triggered"]:
        answer["message"] = f"Sync requested (daemon pid {record.pid})."
    return answer
