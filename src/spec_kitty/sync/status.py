"""``spec-kitty sync status`` and ``spec-kitty sync diagnose``: read-only views of a queue.

Status never talks to the network and never creates a queue: it reports the drain
blockers (``sync_disabled``, ``no_auth``, ``no_host``, ``no_team``), the hub, the queue
(``depth / max`` with percentage, oldest event age, retry histogram, top event
types, recorded permanent failures), the last ``sync now`` result and the daemon as its
owner record describes it, compared with this CLI (``daemon``: see
:func:`spec_kitty.sync.boundary.identity.daemon_summary`; no health check).
Diagnose validates every queued envelope against the published schemas
(:mod:`spec_kitty.core.sync.schemas`) and lists per-event field errors.
"""

from __future__ import annotations

import json
import time
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.scope import SyncScope, current_scope


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _blockers(paths: RuntimePaths) -> tuple[list[dict[str, str]], SyncScope | None, str | None]:
    from spec_kitty.hosted import gate
    from spec_kitty.hosted.server import resolve_server_url

    blockers: list[dict[str, str]] = []
    if not gate.is_enabled():
        blockers.append({"code": "sync_disabled", "message": gate.OFF_MESSAGE})
    try:
        configured = resolve_server_url(paths=paths)
        server = configured.url if configured else None
    except SpecKittyError as exc:
        server = None
        blockers.append({"code": "no_host", "message": exc.message})
    else:
        if server is None:
            blockers.append({"code": "no_host", "message": "No hub is configured; run "
                             "`spec-kitty sync server URL`."})
    scope = current_scope(paths)
    if scope is None:
        blockers.append({"code": "no_auth", "message": "Not logged in; run "
                         "`spec-kitty auth login`."})
    elif scope.team_slug == "no-team":
        blockers.append({"code": "no_team", "message": "The session has no team."})
    return blockers, scope, server


def status_report(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """Everything ``sync status --json`` prints (see the module docstring)."""
    from spec_kitty.sync.settings import max_queue_size

    paths = paths or RuntimePaths.current()
    blockers, scope, server = _blockers(paths)
    limit = max_queue_size(paths)
    from spec_kitty.sync.boundary.identity import daemon_summary

    report: dict[str, Any] = {
        "daemon": daemon_summary(paths, scope),
        "drain_ready": not blockers, "blockers": blockers,
        "server_url": scope.server_url if scope else server,
        "scope": {"user": scope.user, "team": scope.team_slug,
                  "queue_file": str(scope.queue_path(paths))} if scope else None,
        "queue": {"depth": 0, "max": limit, "percent": 0.0, "oldest_age_seconds": None,
                  "oldest_age": None, "retry_histogram": {"0 retries": 0, "1-3 retries": 0,
                                                          "4+ retries": 0},
                  "top_event_types": [], "permanent_failures": 0},
        "last_sync": None, "recent_failures": [],
        "damaged_queue_files": sorted(str(p) for p in (paths.root / "queues").glob(
            "*.damaged-*")) if (paths.root / "queues").is_dir() else [],
    }
    if scope is None or not scope.queue_path(paths).exists():
        return report
    from spec_kitty.sync.queue import EventQueue

    with EventQueue(scope.queue_path(paths), limit) as queue:
        stats = queue.stats()
        last = queue.get_meta("last_sync")
        failures = queue.failures()[:10]
    age = None if stats.oldest_timestamp is None else time.time() - stats.oldest_timestamp
    report["queue"] = {
        "depth": stats.depth, "max": limit, "percent": round(100 * stats.depth / limit, 1),
        "oldest_age_seconds": None if age is None else int(age),
        "oldest_age": None if age is None else _age(age),
        "retry_histogram": stats.retry_histogram,
        "top_event_types": [{"event_type": t, "count": n} for t, n in stats.top_event_types],
        "permanent_failures": stats.failures}
    report["last_sync"] = json.loads(last) if last else None
    report["recent_failures"] = failures
    return report


def diagnose_report(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """``{total, valid, invalid, results: [{event_id, event_type, valid, errors,
    error_category}]}`` for every queued event (an empty report when nothing is queued).
    """
    from spec_kitty.core.sync.schemas import envelope_problems
    from spec_kitty.sync.categories import SCHEMA_MISMATCH
    from spec_kitty.sync.queue import EventQueue
    from spec_kitty.sync.settings import max_queue_size

    paths = paths or RuntimePaths.current()
    scope = current_scope(paths)
    results: list[dict[str, Any]] = []
    if scope is not None and scope.queue_path(paths).exists():
        with EventQueue(scope.queue_path(paths), max_queue_size(paths)) as queue:
            for event in queue.all_events():
                try:
                    problems = [p.to_json() for p in envelope_problems(event.envelope)]
                except ValueError as exc:  # stored text that is not JSON
                    problems = [{"field": "(envelope)", "message": str(exc),
                                 "code": "NOT_JSON"}]
                results.append({"event_id": event.event_id, "event_type": event.event_type,
                                "valid": not problems, "errors": problems,
                                "error_category": SCHEMA_MISMATCH if problems else None})
    invalid = sum(not r["valid"] for r in results)
    return {"total": len(results), "valid": len(results) - invalid, "invalid": invalid,
            "queue_file": str(scope.queue_path(paths)) if scope else None,
            "results": results}
