"""``spec-kitty sync status --check``: is this machine's sync boundary coherent?

The foreground's view (this CLI: package version, interpreter, source checkout, hub,
auth scope and its queue file) is compared with the daemon's owner record
(:mod:`spec_kitty.sync.daemon.owner`) and the queues. Problems (``problems``, each
``{code, message, fix}``) that make the check fail (exit 2):

- ``mismatch``: a live daemon serves another package version, executable, source
  checkout, hub, auth scope or queue file (``mismatches`` lists ``{field, foreground,
  daemon}``); its events would go elsewhere than this CLI's;
- ``orphan_owner_record``: the record's process is gone (both identity markers are
  checked: PIDs get reused); ``invalid_owner_record``: the file is not a record;
- ``legacy_rows``: the unscoped ``<runtime>/queue.db`` still holds rows (``sync migrate``);
- ``not_logged_in``: the rollout gate is on but nobody is logged in;
- ``hub_changed``: the configured hub (``SPEC_KITTY_SAAS_URL`` / ``sync server``) is not
  the one the session (and so the queue) belongs to: ``sync now`` would refuse.

No daemon running is fine (reported as ``daemon.state = "not_running"``). The hub's
``GET /api/v1/sync/health/`` is pinged with the session's token (2 s, stdlib HTTP so the
whole process stays fast); an unreachable hub is reported, never fatal. The scope comes
from the scope cache, so the session is decrypted only to read the token for the ping.

The owner record's ``auth_scope`` is compared with the scope key
(:attr:`~spec_kitty.sync.scope.SyncScope.key`) or its digest; either form matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.boundary.identity import COMPARED
from spec_kitty.sync.boundary.identity import foreground as _foreground
from spec_kitty.sync.boundary.identity import same as _same
from spec_kitty.sync.boundary.migrate import legacy_depth, legacy_queue_path
from spec_kitty.sync.scope import SyncScope, current_scope

PING_TIMEOUT_SECONDS = 2.0
HEALTH_PATH = "/api/v1/sync/health/"
EXIT_INCOHERENT = 2


@dataclass
class BoundaryFacts:
    """Everything the check (and ``sync doctor``) looked at."""

    foreground: dict[str, Any]
    scope: SyncScope | None
    daemon: dict[str, Any]
    record: dict[str, Any] | None
    active_queue: dict[str, Any]
    legacy_queue: dict[str, Any]
    hub: dict[str, Any] | None
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        code = EXIT_INCOHERENT if self.problems else 0
        return {"ok": not self.problems, "exit_code": code, "foreground": self.foreground,
                "daemon_owner_record": self.record, "daemon": self.daemon,
                "active_queue": self.active_queue, "legacy_queue": self.legacy_queue,
                "mismatches": self.mismatches, "orphan_records": self.orphans,
                "problems": self.problems, "hub": self.hub}


def _daemon(paths: RuntimePaths, facts: BoundaryFacts) -> None:
    from spec_kitty.sync.daemon import owner

    try:
        record = owner.read(paths)
    except owner.OwnerRecordError as exc:
        facts.daemon = {"state": "invalid", "owner_file": str(owner.owner_file(paths)),
                        "error": str(exc)}
        facts.problems.append({"code": "invalid_owner_record", "message": str(exc),
                               "fix": f"Stop any running daemon, then remove "
                                      f"{owner.owner_file(paths)}."})
        return
    if record is None:
        facts.daemon = {"state": "not_running"}
        return
    facts.record = record.to_json()
    if owner.is_orphan(record):
        facts.daemon = {"state": "orphan", "pid": record.pid, "port": record.port}
        facts.orphans.append(record.to_json())
        facts.problems.append({
            "code": "orphan_owner_record",
            "message": f"The daemon owner record names pid {record.pid}, which is gone.",
            "fix": "Run `spec-kitty sync doctor --fix` (removes the orphan record)."})
        return
    facts.daemon = {"state": "running", "pid": record.pid, "port": record.port}
    mine = facts.foreground
    for name in COMPARED:
        theirs = getattr(record, name)
        if mine[name] is None and name in ("auth_scope", "queue_path"):
            continue  # not logged in: reported as not_logged_in
        if not _same(name, mine[name], theirs, facts.scope):
            facts.mismatches.append({"field": name, "foreground": mine[name],
                                     "daemon": theirs})
    if facts.mismatches:
        names = ", ".join(m["field"] for m in facts.mismatches)
        facts.problems.append({
            "code": "mismatch",
            "message": f"The running daemon (pid {record.pid}) differs from this CLI in: "
                       f"{names}.",
            "fix": "Run `spec-kitty sync daemon stop`; the next sync starts a daemon from "
                   "this CLI."})


def _queues(paths: RuntimePaths, facts: BoundaryFacts) -> None:
    legacy = legacy_queue_path(paths)
    depth = legacy_depth(paths)
    facts.legacy_queue = {"path": str(legacy), "exists": legacy.is_file(), "depth": depth or 0}
    if depth:
        facts.problems.append({
            "code": "legacy_rows",
            "message": f"{depth} event(s) are still in the unscoped legacy queue {legacy}.",
            "fix": "Run `spec-kitty sync migrate` (or `spec-kitty sync now`)."})
    scope = facts.scope
    if scope is None:
        facts.active_queue = {"path": None, "exists": False, "depth": 0}
        return
    path = scope.queue_path(paths)
    facts.active_queue = {"path": str(path), "exists": path.is_file(), "depth": 0}
    if path.is_file():
        from spec_kitty.sync.queue import EventQueue
        from spec_kitty.sync.settings import max_queue_size

        limit = max_queue_size(paths)
        with EventQueue(path, limit) as queue:
            facts.active_queue.update(depth=queue.depth(), max=limit,
                                      permanent_failures=len(queue.failures()))


def access_token(paths: RuntimePaths) -> str | None:
    """The stored access token (decrypts the session), or None when unreadable/absent."""
    from spec_kitty.auth.errors import SessionFileError
    from spec_kitty.auth.storage import SessionStore

    try:
        session = SessionStore(paths).load()
    except SessionFileError:
        return None
    return session.access_token if session is not None else None


def http_get(url: str, path: str, token: str | None,
             timeout: float = PING_TIMEOUT_SECONDS) -> tuple[int, Any]:
    """``(status, parsed JSON or None)`` of one GET; raises ``OSError`` when unreachable.

    Plain ``http.client``: importing httpx would cost more than the whole check may.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn_type = (http.client.HTTPSConnection if parts.scheme == "https"
                 else http.client.HTTPConnection)
    conn = conn_type(parts.hostname or "", parts.port, timeout=timeout)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request("GET", parts.path.rstrip("/") + path, headers=headers)
        response = conn.getresponse()
        raw = response.read(1_000_000)
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from exc
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, None


def ping(server_url: str, token: str | None) -> dict[str, Any]:
    """The hub's sync health: ``{url, reachable, http_status, sync_protocol, error}``."""
    result: dict[str, Any] = {"url": server_url + HEALTH_PATH, "reachable": False,
                              "http_status": None, "sync_protocol": None, "error": None}
    try:
        status, body = http_get(server_url, HEALTH_PATH, token)
    except OSError as exc:
        result["error"] = str(exc) or type(exc).__name__
        return result
    result.update(reachable=True, http_status=status)
    if isinstance(body, dict) and isinstance(body.get("sync_protocol"), dict):
        result["sync_protocol"] = body["sync_protocol"].get("version")
    if status != 200:
        result["error"] = f"HTTP {status}"
    return result


def gather(paths: RuntimePaths | None = None, *, probe_hub: bool = True) -> BoundaryFacts:
    """Collect the facts and the problems (module docstring). Never touches the queue
    files beyond reading them, and never creates the legacy one."""
    paths = paths or RuntimePaths.current()
    scope = current_scope(paths)
    facts = BoundaryFacts(_foreground(paths, scope), scope, {}, None, {}, {}, None)
    if facts.foreground["gate_enabled"] and scope is None:
        facts.problems.append({"code": "not_logged_in",
                               "message": "Hosted sync is on, but nobody is logged in: "
                                          "events are not queued for any hub.",
                               "fix": "Run `spec-kitty auth login`."})
    configured = facts.foreground["configured_server_url"]
    if scope is not None and configured and not _same("server_url", configured,
                                                        scope.server_url, scope):
        facts.problems.append({
            "code": "hub_changed",
            "message": f"The configured hub is {configured}, but you are logged in to "
                       f"{scope.server_url} (where this queue's events belong).",
            "fix": f"Point `spec-kitty sync server` / SPEC_KITTY_SAAS_URL back to "
                   f"{scope.server_url} and run `spec-kitty sync now`, or run "
                   "`spec-kitty auth login` for the new hub."})
    _daemon(paths, facts)
    _queues(paths, facts)
    server = facts.foreground["server_url"]
    if probe_hub and server:
        facts.hub = ping(server, access_token(paths) if scope is not None else None)
    return facts


def check_report(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """What ``sync status --check --json`` prints; ``exit_code`` is 2 when incoherent."""
    return gather(paths).to_json()
