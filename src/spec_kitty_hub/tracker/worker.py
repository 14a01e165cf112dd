"""The job worker every hub process runs: a daemon thread that claims and runs jobs.

It sleeps up to ``SPEC_KITTY_HUB_JOB_POLL`` seconds (default 1) between empty polls,
and wakes at once when a request of the same process enqueues a job (``kick``); jobs
enqueued by other processes are found by the poll. Stopped by the app's shutdown.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from sqlalchemy import select

from spec_kitty_hub.connectors import ConnectorError, IssueConnector
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.db.models import utcnow
from spec_kitty_hub.db.tracker_tables import TrackerBinding, TrackerConnection
from spec_kitty_hub.errors import HubError
from spec_kitty_hub.tracker import jobs
from spec_kitty_hub.tracker.connections import open_connector
from spec_kitty_hub.tracker.crypto import SecretBox, resolve_key
from spec_kitty_hub.tracker.operations import PushRunner, pull
from spec_kitty_hub.tracker.problems import TrackerProblem, problem_json

POLL_ENV = "SPEC_KITTY_HUB_JOB_POLL"
log = logging.getLogger("spec_kitty_hub.tracker")


def secret_box(db: Database) -> SecretBox:
    """The hub's box; 503 ``tracker_key_missing`` when no key is configured."""
    try:
        return SecretBox(resolve_key(db.url))
    except HubError as error:
        raise TrackerProblem(503, error.code.lower(), error.message, category="server",
                             user_action_required=True) from None


def connector_for(db: Database, team_id: int, binding_ref: str
                  ) -> tuple[TrackerBinding, TrackerConnection, IssueConnector]:
    with db.read() as session:
        found = session.execute(select(TrackerBinding, TrackerConnection).join(
            TrackerConnection, TrackerConnection.id == TrackerBinding.connection_id).where(
            TrackerBinding.binding_ref == binding_ref, TrackerBinding.team_id == team_id)
        ).first()
    if found is None:
        raise TrackerProblem(404, "binding_not_found", f"No binding {binding_ref!r}.")
    binding, row = found
    return binding, row, open_connector(row, secret_box(db))


def execute(db: Database, claim: jobs.Claim) -> dict[str, Any]:
    """Run one claimed job; returns its result envelope (raises on whole-job failure)."""
    binding, row, connector = connector_for(db, claim.team_id, claim.binding_ref)
    try:
        items = list(claim.payload.get("items") or [])
        pushed = PushRunner(db, binding, connector, claim.idempotency_key).run(items)
        if claim.kind == "push":
            return pushed
        limit = int(claim.payload.get("limit") or 100)
        pulled = pull(connector, row, limit=limit, cursor=None) \
            if claim.payload.get("pull_first", True) else None
        with db.write() as session:
            stored = session.get(TrackerBinding, binding.binding_ref)
            if stored is not None and pulled is not None:
                stored.last_pull_at = utcnow()
        failed = pushed["status"] != "ok"
        return {"status": "partial" if failed else "ok", "pull": pulled, "push": pushed}
    finally:
        connector.close()


def run_one(db: Database, worker: str) -> bool:
    """Claim and run at most one job; False when there was none."""
    claim = jobs.claim_next(db, worker)
    if claim is None:
        return False
    done = threading.Event()
    heartbeat = threading.Thread(target=_keep_lease, args=(db, claim, done), daemon=True)
    heartbeat.start()
    try:
        result = execute(db, claim)
    except (ConnectorError, TrackerProblem, ValueError) as error:
        jobs.finish(db, claim, error=problem_json(error))
    except Exception as error:  # never let one job kill the worker thread
        log.exception("tracker job %s failed", claim.job_id)
        jobs.finish(db, claim, error=problem_json(error))
    else:
        jobs.finish(db, claim, result=result)
    finally:
        done.set()
    return True


def _keep_lease(db: Database, claim: jobs.Claim, done: threading.Event) -> None:
    """Renew the lease every third of its length while the job runs, so a long job is
    never taken over by another worker; a job whose worker died is (after the lease)."""
    while not done.wait(jobs.LEASE.total_seconds() / 3):
        try:
            if not jobs.renew(db, claim):
                return
        except Exception:  # the database is away: the next beat tries again
            log.exception("tracker job %s: lease renewal failed", claim.job_id)


class JobWorker:
    """The background thread; ``kick()`` after enqueueing, ``stop()`` at shutdown."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.poll = float(os.environ.get(POLL_ENV, "1") or 1)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tracker-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        name = jobs.worker_name()
        while not self._stop.is_set():
            try:
                busy = run_one(self.db, name)
            except Exception:  # database away: log, back off, keep the thread alive
                log.exception("tracker job worker: claim failed")
                busy = False
            if not busy:
                self._wake.wait(self.poll)
                self._wake.clear()
