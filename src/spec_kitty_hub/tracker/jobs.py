"""Durable tracker jobs (push, run): enqueued by a request, claimed by exactly one worker.

The claim is one write transaction: pick the oldest claimable job and mark it
``running`` with this worker's name, a lease and ``attempt + 1``.

* PostgreSQL: the pick is ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent workers
  (threads, uvicorn workers, hub processes) each lock a different row and never wait
  on each other.
* SQLite: write transactions start with ``BEGIN IMMEDIATE`` (see ``db.engine``), so
  the pick-and-mark runs under the database's single write lock: atomic.

A job is claimable when ``pending``, or ``running`` with its lease run out (its worker
died: a live worker renews the lease while the job runs, :func:`renew`). Finishing is
fenced by ``attempt``: a worker that lost its lease cannot overwrite the result of the
one that took over. Re-running after a crash is safe because creates carry idempotency
keys (see :mod:`.operations`).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.db.models import utcnow
from spec_kitty_hub.db.tracker_tables import TrackerJob
from spec_kitty_hub.tracker.problems import TrackerProblem

LEASE = timedelta(minutes=5)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def request_hash(kind: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([kind, payload], sort_keys=True).encode()).hexdigest()


def enqueue(session: Session, team_id: int, binding_ref: str, kind: str,
            payload: dict[str, Any], idempotency_key: str) -> tuple[TrackerJob, bool]:
    """(the job, whether it already existed). A key reused for a different request is a
    409 ``idempotency_key_reused``."""
    digest = request_hash(kind, payload)
    existing = session.scalar(select(TrackerJob).where(
        TrackerJob.team_id == team_id, TrackerJob.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.request_hash != digest:
            raise TrackerProblem(409, "idempotency_key_reused",
                                 "This Idempotency-Key was used for a different request.")
        return existing, True
    job = TrackerJob(id=str(uuid.uuid4()), team_id=team_id, binding_ref=binding_ref,
                     kind=kind, idempotency_key=idempotency_key, request_hash=digest,
                     payload_json=json.dumps(payload), status="pending", attempt=0)
    session.add(job)
    session.flush()
    return job, False


@dataclass(frozen=True)
class Claim:
    job_id: str
    attempt: int
    team_id: int
    binding_ref: str
    kind: str
    idempotency_key: str
    payload: dict[str, Any]


def claim_next(db: Database, worker: str) -> Claim | None:
    """Claim the oldest claimable job for ``worker``, or None when there is none."""
    now = utcnow()
    with db.write() as session:
        job = session.scalar(
            select(TrackerJob)
            .where(or_(TrackerJob.status == "pending",
                       (TrackerJob.status == "running") & (TrackerJob.lease_until < now)))
            .order_by(TrackerJob.created_at, TrackerJob.id)
            .limit(1)
            .with_for_update(skip_locked=True))
        if job is None:
            return None
        job.status, job.claimed_by = "running", worker
        job.attempt += 1
        job.lease_until = now + LEASE
        return Claim(job.id, job.attempt, job.team_id, job.binding_ref, job.kind,
                     job.idempotency_key, json.loads(job.payload_json))


def renew(db: Database, claim: Claim) -> bool:
    """Extend a running job's lease (its worker is alive); False when superseded."""
    with db.write() as session:
        done = session.execute(
            update(TrackerJob)
            .where(TrackerJob.id == claim.job_id, TrackerJob.attempt == claim.attempt,
                   TrackerJob.status == "running")
            .values(lease_until=utcnow() + LEASE))
        return bool(getattr(done, "rowcount", 0))


def finish(db: Database, claim: Claim, *, result: dict[str, Any] | None = None,
           error: dict[str, Any] | None = None) -> bool:
    """Record the outcome; False when the claim was superseded (result discarded)."""
    with db.write() as session:
        done = session.execute(
            update(TrackerJob)
            .where(TrackerJob.id == claim.job_id, TrackerJob.attempt == claim.attempt,
                   TrackerJob.status == "running")
            .values(status="failed" if error is not None else "completed",
                    result_json=json.dumps(result) if result is not None else None,
                    error_json=json.dumps(error) if error is not None else None,
                    finished_at=utcnow(), lease_until=None))
        return bool(getattr(done, "rowcount", 0))


def operation(job: TrackerJob) -> dict[str, Any]:
    """The ``operations/{id}/`` body."""
    body: dict[str, Any] = {"operation_id": job.id, "status": job.status, "kind": job.kind}
    if job.result_json is not None:
        body["result"] = json.loads(job.result_json)
    if job.error_json is not None:
        body["error"] = json.loads(job.error_json)
    return body


def get(session: Session, team_id: int, job_id: str) -> TrackerJob:
    job = session.scalar(select(TrackerJob).where(TrackerJob.id == job_id,
                                                  TrackerJob.team_id == team_id))
    if job is None:
        raise TrackerProblem(404, "operation_not_found", f"No operation {job_id!r}.")
    return job
