"""This CLI's identity against the daemon's owner record, without the network.

Shared by ``sync status --check`` / ``sync doctor`` (:mod:`.check`) and plain
``sync status`` (:func:`daemon_summary`), which must stay cheap: only the owner record,
the config file and ``/proc`` are read.
"""

from __future__ import annotations

from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.scope import SyncScope

COMPARED = ("package_version", "executable", "source_checkout", "server_url", "auth_scope",
            "queue_path")


def foreground(paths: RuntimePaths, scope: SyncScope | None) -> dict[str, Any]:
    """This CLI's side of the boundary: identity, gate, login, hub and queue path."""
    from spec_kitty.hosted import gate
    from spec_kitty.hosted.server import resolve_server_url
    from spec_kitty.sync.daemon.owner import current_identity

    try:
        configured = resolve_server_url(paths=paths)
        server = configured.url if configured else None
    except SpecKittyError:
        server = None
    return {**current_identity(), "gate_enabled": gate.is_enabled(),
            "logged_in": scope is not None,
            "server_url": scope.server_url if scope else server,
            "configured_server_url": server,
            "user": scope.user if scope else None,
            "team_slug": scope.team_slug if scope else None,
            "auth_scope": scope.key if scope else None,
            "queue_path": str(scope.queue_path(paths)) if scope else None}


def same(name: str, mine: Any, theirs: Any, scope: SyncScope | None) -> bool:
    """Whether field ``name`` agrees (hub URLs case- and slash-insensitive; the scope
    as key or digest)."""
    if name == "server_url":
        return str(mine or "").lower().rstrip("/") == str(theirs or "").lower().rstrip("/")
    if name == "auth_scope" and scope is not None:
        return theirs in (scope.key, scope.digest)
    return bool(mine == theirs)


def daemon_summary(paths: RuntimePaths, scope: SyncScope | None) -> dict[str, Any]:
    """The short daemon/boundary block of plain ``sync status``: the owner record only
    (no network, no health check), compared with this CLI.

    Shape: ``{"state": "running" | "not_running" | "stale" | "invalid", "pid", "port",
    "package_version", "coherent": bool, "differs": [field names]}`` (``pid``, ``port``,
    ``package_version`` None unless running). ``coherent`` is false for a stale or
    invalid record or a running daemon that differs from this CLI.
    """
    from spec_kitty.sync.daemon import owner

    summary: dict[str, Any] = {"state": "not_running", "pid": None, "port": None,
                               "package_version": None, "coherent": True, "differs": []}
    try:
        record = owner.read(paths)
    except owner.OwnerRecordError:
        return {**summary, "state": "invalid", "coherent": False}
    if record is None:
        return summary
    if owner.is_orphan(record):
        return {**summary, "state": "stale", "coherent": False}
    mine = foreground(paths, scope)
    differs = [name for name in COMPARED
               if not (mine[name] is None and name in ("auth_scope", "queue_path"))
               and not same(name, mine[name], getattr(record, name), scope)]
    return {**summary, "state": "running", "pid": record.pid, "port": record.port,
            "package_version": record.package_version, "coherent": not differs,
            "differs": differs}
