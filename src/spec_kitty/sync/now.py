"""``spec-kitty sync now``: drain the current scope's queue to the hub.

Preconditions (each an exit-1 error naming the fix): the rollout gate is on, a hub is
configured, the user is logged in, the session has a team. Rows left in the legacy
unscoped queue are migrated into the scope's queue first
(:mod:`spec_kitty.sync.boundary.migrate`). Then the hub's limits are
read from ``GET /api/v1/sync/health/`` and one :class:`~spec_kitty.sync.drain.Drainer`
pass runs over the authenticated client. The result is kept in the queue's ``meta``
table (``last_sync``) for ``sync status``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.sync.batch import BatchAnswer, Limits
from spec_kitty.sync.drain import DrainSummary, Progress
from spec_kitty.sync.queue import EventQueue, QueuedEvent
from spec_kitty.sync.scope import SyncScope, current_scope

if TYPE_CHECKING:
    import httpx

LAST_SYNC = "last_sync"


class NoTeam(SpecKittyError):
    def __init__(self) -> None:
        super().__init__("Your session has no team, so events have nowhere to go.",
                         "NO_TEAM", hint="Ask a hub admin to add you to a team, then run "
                         "`spec-kitty auth login --force`.")


def ready_scope(paths: RuntimePaths) -> SyncScope:
    """The scope to drain, after the gate/host/login/team checks (raises otherwise)."""
    from spec_kitty.auth.errors import NotLoggedIn
    from spec_kitty.hosted import gate
    from spec_kitty.hosted.readiness import evaluate_readiness

    gate.require_enabled()
    evaluate_readiness(paths=paths).raise_unless_ready()
    scope = current_scope(paths)
    if scope is None:
        raise NotLoggedIn()
    if scope.team_slug == "no-team":
        raise NoTeam()
    return scope


def run_sync(paths: RuntimePaths | None = None,
             on_start: Callable[[int, Limits], Progress | None] | None = None,
             project: ProjectPaths | None = None) -> DrainSummary:
    """Drain once and return the summary.

    ``on_start(depth, limits)`` may return a progress callback (events handled so far
    are passed in increments). With ``project``, and when the events went through, the
    project's mission documents are pushed too (``summary.documents``). Raises the
    precondition errors of :func:`ready_scope`, :class:`~spec_kitty.auth.errors.HubError`
    (``SERVER_MISMATCH``) and session-file errors; HTTP failures never raise, they end
    up in the summary's ``blocker``.
    """
    from spec_kitty.auth.errors import ReauthRequired
    from spec_kitty.auth.transport import authenticated_client
    from spec_kitty.sync.batch import post_batch, probe_limits
    from spec_kitty.sync.boundary.migrate import migrate_legacy
    from spec_kitty.sync.drain import Drainer
    from spec_kitty.sync.emitter import open_queue

    paths = paths or RuntimePaths.current()
    scope = ready_scope(paths)
    migration = migrate_legacy(paths, scope)
    with authenticated_client(paths) as client, open_queue(scope, paths) as queue:
        limits = probe_limits(client)

        def send(batch: Sequence[QueuedEvent]) -> BatchAnswer:
            try:
                return post_batch(client, batch, scope.team_slug)
            except ReauthRequired as exc:
                return BatchAnswer(401, exc.message, "auth_expired")

        progress = on_start(queue.depth(), limits) if on_start else None
        summary = Drainer(queue, send, limits, progress).run()
        if migration.moved or migration.already_present or migration.error:
            summary.migrated = migration.to_json()
        if project is not None and summary.blocker is None:
            summary.documents = _documents(client, queue, project, scope, paths)
        queue.set_meta(LAST_SYNC, json.dumps({
            "at": datetime.now(UTC).isoformat(timespec="seconds"), "server_url":
            scope.server_url, **{k: v for k, v in summary.to_json().items()
                                 if k != "categories"}}))
    return summary


def _documents(client: httpx.Client, queue: EventQueue, project: ProjectPaths,
               scope: SyncScope, paths: RuntimePaths) -> dict[str, Any] | None:
    from spec_kitty.sync.context import ProjectIdentityMissing, project_identity
    from spec_kitty.sync.documents import push_documents

    try:
        project_uuid = project_identity(project, paths)["uuid"]
    except ProjectIdentityMissing:
        return None
    return push_documents(client, queue, project, project_uuid, scope.team_slug).to_json()


def write_report(path: Path, summary: DrainSummary) -> None:
    """The ``--report`` file: generated_at, summary (with categories) and each failure."""
    data: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": {"total_events": summary.synced + summary.duplicates + summary.pending
                    + sum(f["permanent"] == "true" for f in summary.failures),
                    "synced": summary.synced,
                    "duplicates": summary.duplicates, "pending": summary.pending,
                    "failed": summary.failed, "categories": summary.categories()},
        "blocker": summary.blocker.to_json() if summary.blocker else None,
        "failures": [{k: f[k] for k in ("event_id", "error", "category")}
                     for f in summary.failures],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
