"""``spec-kitty sync doctor``: one finding per check, each with severity and its fix.

Findings (``{check, severity: ok|warn|error, message, fix}``):

=====================  ==============================================================
``queue_fullness``     depth / capacity: warn from 80 %, error when full
``permanent_failures`` events dropped as permanent failures (recorded in the queue)
``token``              the session: present, refresh token usable, access token
                       accepted by the hub (``GET /api/v1/me``)
``hub``                ``GET /api/v1/sync/health/`` answers, with a protocol we speak
``daemon``             the owner record: running (singleton), none, orphan, invalid,
                       a running daemon that differs from this CLI, or one that is
                       alive but does not answer its health check (unresponsive)
``legacy_queue``       rows left in the unscoped ``<runtime>/queue.db``
``login``              gate on but nobody logged in, or logged in to another hub
                       than the configured one
=====================  ==============================================================

``fix=True`` (``sync doctor --fix``) first applies the safe repairs: an orphan owner
record is removed (its process is proven gone) and legacy rows are migrated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.boundary.check import BoundaryFacts, gather, http_get

WARN_PERCENT = 80.0


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str  # ok | warn | error
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "message": self.message,
                "fix": self.fix}


def _queue(facts: BoundaryFacts) -> list[Finding]:
    queue = facts.active_queue
    if facts.scope is None:
        return []
    depth, limit = int(queue.get("depth", 0)), int(queue.get("max") or 0)
    percent = 100.0 * depth / limit if limit else 0.0
    text = f"{depth} / {limit or '-'} events queued ({percent:.0f} %) in {queue['path']}"
    found = [Finding("queue_fullness", "error" if limit and depth >= limit else
                     "warn" if percent >= WARN_PERCENT else "ok", text,
                     "Run `spec-kitty sync now`." if percent >= WARN_PERCENT else None)]
    failed = int(queue.get("permanent_failures", 0))
    found.append(Finding("permanent_failures", "warn" if failed else "ok",
                         f"{failed} event(s) were dropped as permanent failures." if failed
                         else "No permanent failures recorded.",
                         "See `spec-kitty sync status --json` (recent_failures) and "
                         "`spec-kitty sync diagnose`." if failed else None))
    return found


def _token(facts: BoundaryFacts, paths: RuntimePaths) -> Finding:
    from spec_kitty.auth.errors import SessionFileError
    from spec_kitty.auth.session import utc_now
    from spec_kitty.auth.storage import SessionStore

    relogin = "Run `spec-kitty auth login --force`."
    try:
        session = SessionStore(paths).load()
    except SessionFileError as exc:
        return Finding("token", "error", f"The session file cannot be used: {exc.message}",
                       relogin)
    if session is None:
        return Finding("token", "error", "Not logged in.", "Run `spec-kitty auth login`.")
    now = utc_now()
    if not session.refresh_usable(now):
        return Finding("token", "error", "The session has expired.", relogin)
    if not session.access_usable(now):
        return Finding("token", "ok", "The access token expired; it is refreshed on the "
                       "next request (refresh token valid).")
    if facts.hub is None or not facts.hub["reachable"]:
        return Finding("token", "warn", "Token not verified: the hub is unreachable.",
                       "Check the hub (see the hub finding).")
    try:
        status, _ = http_get(session.server_url or str(facts.foreground["server_url"]),
                             "/api/v1/me", session.access_token)
    except OSError as exc:
        return Finding("token", "warn", f"Token not verified: {exc}", None)
    if status == 200:
        return Finding("token", "ok", f"The hub accepts the token of {session.email}.")
    if status == 401:
        return Finding("token", "error", "The hub rejects the access token.", relogin)
    return Finding("token", "warn", f"Token check answered HTTP {status}.", None)


def _hub(facts: BoundaryFacts) -> Finding:
    from spec_kitty.core.sync import protocol as sync_protocol

    hub = facts.hub
    if hub is None:
        return Finding("hub", "error", "No hub is configured.",
                       "Run `spec-kitty sync server URL`.")
    if not hub["reachable"]:
        return Finding("hub", "error", f"{hub['url']} is unreachable: {hub['error']}",
                       "Check that the hub is running and the URL (`spec-kitty sync "
                       "server`), then retry.")
    if hub["http_status"] != 200:
        return Finding("hub", "error", f"{hub['url']} answered HTTP {hub['http_status']}.",
                       "Ask the hub's admin to check its log.")
    served = hub.get("sync_protocol")
    theirs = sync_protocol.parse(served) if isinstance(served, str) else None
    ours = sync_protocol.parse(sync_protocol.CURRENT)
    if theirs is not None and ours is not None and theirs[0] != ours[0]:
        return Finding("hub", "error", f"The hub speaks sync protocol {served}; this CLI "
                       f"speaks {sync_protocol.CURRENT}.",
                       "Upgrade whichever side is older (`pip install --upgrade spec-kitty`).")
    return Finding("hub", "ok", f"{hub['url']} answers (sync protocol {served}).")


def _boundary(facts: BoundaryFacts) -> list[Finding]:
    daemon = facts.daemon
    found: list[Finding] = []
    codes = {problem["code"]: problem for problem in facts.problems}
    if daemon.get("state") == "running" and "mismatch" not in codes:
        found.append(Finding("daemon", "ok", f"One daemon (pid {daemon['pid']}, port "
                             f"{daemon['port']}) serves this CLI's scope."))
    elif daemon.get("state") == "not_running":
        found.append(Finding("daemon", "ok", "No daemon is running (sync runs on demand)."))
    for code, check in (("mismatch", "daemon"), ("unresponsive_daemon", "daemon"),
                        ("orphan_owner_record", "daemon"),
                        ("invalid_owner_record", "daemon"), ("legacy_rows", "legacy_queue"),
                        ("not_logged_in", "login"), ("hub_changed", "login")):
        if code in codes:
            found.append(Finding(check, "error", codes[code]["message"], codes[code]["fix"]))
    if "legacy_rows" not in codes:
        found.append(Finding("legacy_queue", "ok", "No rows in the legacy queue."))
    return found


def _probe_daemon(paths: RuntimePaths, facts: BoundaryFacts) -> None:
    """A live daemon must answer its health check; one that does not is hung (or stopped
    with SIGSTOP) and is never treated as healthy."""
    if facts.daemon.get("state") != "running":
        return
    from spec_kitty.sync.daemon import client
    from spec_kitty.sync.daemon.logs import log_file
    from spec_kitty.sync.daemon.settings import HEALTH_TIMEOUT

    try:
        client.health(int(facts.daemon["port"]), timeout=HEALTH_TIMEOUT)
    except client.DaemonUnreachable:
        pid = facts.daemon["pid"]
        facts.daemon["state"] = "unresponsive"
        facts.problems.append({
            "code": "unresponsive_daemon",
            "message": f"The daemon (pid {pid}) is alive but does not answer its health "
                       f"check on 127.0.0.1:{facts.daemon['port']} within "
                       f"{HEALTH_TIMEOUT:g} s (hung or stopped).",
            "fix": "Run `spec-kitty sync daemon stop` (kills it when it stays silent); the "
                   f"next sync starts a fresh one. Its log: {log_file(paths)}."})


def repair(paths: RuntimePaths) -> list[str]:
    """The safe repairs of ``--fix``; returns what was done (sentences)."""
    from spec_kitty.sync.boundary.migrate import migrate_legacy
    from spec_kitty.sync.daemon import owner
    from spec_kitty.sync.scope import current_scope

    done: list[str] = []
    removed = owner.remove_orphan(paths)
    if removed is not None:
        done.append(f"Removed the orphan daemon owner record (pid {removed.pid}).")
    scope = current_scope(paths)
    if scope is not None:
        result = migrate_legacy(paths, scope)
        if result.moved or result.already_present:
            done.append(f"Migrated {result.moved} legacy event(s) into {result.scoped_path}.")
    return done


def doctor_report(paths: RuntimePaths | None = None, *, fix: bool = False) -> dict[str, Any]:
    """``{ok, repaired, findings: [...], errors, warnings}``; ``ok`` is false on errors."""
    paths = paths or RuntimePaths.current()
    repaired = repair(paths) if fix else []
    facts = gather(paths)
    _probe_daemon(paths, facts)
    findings = [*_queue(facts), _token(facts, paths), _hub(facts), *_boundary(facts)]
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warn" for f in findings)
    return {"ok": errors == 0, "repaired": repaired, "errors": errors, "warnings": warnings,
            "findings": [f.to_json() for f in findings]}
