"""Event ingress: ``POST /api/v1/events/batch/`` and ``GET /api/v1/sync/health/``.

Contract: /work/shared/reference/sync-subsystem.md §2 and §(a) 5–6.

Request: bearer token; body ``{"events": [envelope, …]}``, plain or
``Content-Encoding: gzip``; the team is ``X-Team-Slug``, else the envelopes'
``team_slug`` (one team per batch), and must be a team of the caller; with neither,
the caller's team holding the project, else their private teamspace
(:mod:`spec_kitty_hub.services.sync_teams`).

Answers (bodies are ``{"error": sentence, "error_code": code, …}`` unless noted):

- 200 ``{"results": [{"event_id", "status": success|duplicate|rejected, "error"?}],
  "summary": {"success", "duplicate", "rejected"}}``, one result per event, in order;
- 400 ``no_events`` ("No events provided"), ``invalid_json``, ``bad_gzip``,
  ``invalid_batch`` (not ``{"events": [...]}``, or several teams), or
  ``invalid_events`` with ``details: [{"event_id", "index", "error", "reason",
  "fields"}]`` for each refused envelope; nothing of a 400 batch is stored;
- 401 ``{"error": "invalid_token", "error_description"}``;
- 403 ``team_forbidden``: the team is not one of the caller's;
- 413 ``oversized_batch``: more events or bytes (raw or inflated) than advertised;
- 412 ``client-too-old`` / ``client-too-new`` / ``client-protocol-unparseable``: the
  ``X-Spec-Kitty-Sync-Protocol`` header names a protocol this hub does not serve; the body
  carries ``sync_protocol.upgrade_guidance`` (:mod:`spec_kitty.core.sync.protocol`;
  a missing header is accepted);
- 415 ``unsupported_encoding``;
- 429 ``throttled`` with ``Retry-After``: this worker is already busy with its maximum
  number of batches.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from spec_kitty.core.sync import protocol as sync_protocol
from spec_kitty_hub import __version__
from spec_kitty_hub.api.bounded_body import BodyProblem, read_json
from spec_kitty_hub.api.deps import ApiErrorBody, DatabaseDep, PrincipalDep, SettingsDep
from spec_kitty_hub.config import Settings
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.errors import HubError
from spec_kitty_hub.services.envelopes import Envelope, Problem, check
from spec_kitty_hub.services.ingest import ingest_batch
from spec_kitty_hub.services.sync_teams import upload_team
from spec_kitty_hub.services.tokens import Principal

router = APIRouter(tags=["sync"])
SYNC_PROTOCOL = sync_protocol.CURRENT
RETRY_AFTER_MIN, RETRY_AFTER_MAX = 1, 60


class IngestError(BaseModel):
    """Error body of the sync endpoints; ``details`` lists refused events (400)."""

    error: str
    error_code: str
    details: list[dict[str, Any]] | None = None
    retry_after: int | None = None


class EventResultOut(BaseModel):
    event_id: str
    status: str
    error: str | None = None


class BatchOut(BaseModel):
    results: list[EventResultOut]
    summary: dict[str, int]


class LimitsOut(BaseModel):
    max_events_per_batch: int
    max_decompressed_bytes_per_batch: int
    max_body_bytes: int
    retry_after_min_seconds: int
    retry_after_max_seconds: int


class IngressOut(BaseModel):
    status: str
    endpoint: str
    limits: LimitsOut


class SyncHealthOut(BaseModel):
    status: str
    version: str
    sync_protocol: dict[str, str]
    sync_ingress: IngressOut


class SyncProblem(Exception):
    """Raised by the sync routes; rendered as :class:`IngestError` with ``status``."""

    def __init__(self, status: int, code: str, message: str,
                 details: list[dict[str, Any]] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.retry_after = details, retry_after

    def response(self) -> JSONResponse:
        body = IngestError(error=self.message, error_code=self.code, details=self.details,
                           retry_after=self.retry_after).model_dump(exclude_none=True)
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def protocol_refusal(request: Request) -> JSONResponse | None:
    """The 412 answer for a sync protocol this hub does not serve, else None."""
    sent = request.headers.get(sync_protocol.HEADER)
    code = sync_protocol.verdict(sent)
    if code is None or sent is None:
        return None
    return JSONResponse(sync_protocol.refusal(code, sent), status_code=412)


def _error_doc(description: str) -> dict[str, Any]:
    return {"model": IngestError, "description": description}


BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error_doc("Malformed body or envelopes; nothing stored"),
    401: {"model": ApiErrorBody, "description": "Missing, invalid or expired token"},
    403: _error_doc("Not a team of the caller"),
    412: {"description": "Sync protocol not served: body has sync_protocol.upgrade_guidance"},
    413: _error_doc("Too many events or bytes"),
    415: _error_doc("Unsupported Content-Encoding"),
    429: _error_doc("Busy: retry after Retry-After seconds"),
}
BATCH_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["events"],
    "properties": {"events": {"type": "array", "items": {"type": "object"}}}}}}}}


def limits(settings: Settings) -> LimitsOut:
    """The ingest limits this hub enforces (and advertises)."""
    return LimitsOut(max_events_per_batch=settings.ingest_max_events,
                     max_decompressed_bytes_per_batch=settings.ingest_max_bytes,
                     max_body_bytes=settings.ingest_max_bytes,
                     retry_after_min_seconds=RETRY_AFTER_MIN,
                     retry_after_max_seconds=RETRY_AFTER_MAX)


@router.get("/api/v1/sync/health/", response_model=SyncHealthOut)
def sync_health(settings: SettingsDep) -> SyncHealthOut:
    """Sync ingress status and limits (no token needed); the CLI sizes batches by
    ``sync_ingress.limits``."""
    return SyncHealthOut(
        status="ok", version=__version__, sync_protocol={"version": SYNC_PROTOCOL},
        sync_ingress=IngressOut(status="ok", endpoint="/api/v1/events/batch/",
                                limits=limits(settings)))


def _events(body: Any, settings: Settings) -> list[Any]:
    if not isinstance(body, Mapping) or not isinstance(body.get("events"), list):
        raise SyncProblem(400, "invalid_batch",
                          'The body must be a JSON object {"events": [...]}.')
    events: list[Any] = body["events"]
    if not events:
        raise SyncProblem(400, "no_events", "No events provided")
    if len(events) > settings.ingest_max_events:
        raise SyncProblem(413, "oversized_batch",
                          f"Payload too large: oversized batch of {len(events)} events; at "
                          f"most {settings.ingest_max_events} per request.")
    return events


def _usable(value: Any) -> bool:
    """Whether an envelope's routing string may be looked up (the envelope check
    refuses the rest with per-event details)."""
    return isinstance(value, str) and bool(value) and "\x00" not in value \
        and len(value) <= 200


def _team_slug(header: str | None, events: Sequence[Any]) -> str | None:
    if header and header.strip():
        return header.strip()
    # A slug the envelope check refuses (NUL, too long) names no team: the batch goes to
    # the default team, where that check lists the event (and PostgreSQL never sees it).
    slugs = {e.get("team_slug") for e in events
             if isinstance(e, Mapping) and _usable(e.get("team_slug"))}
    if len(slugs) > 1:
        raise SyncProblem(400, "invalid_batch",
                          "The events name several teams: send one team per batch.")
    return str(slugs.pop()) if slugs else None


def _team(db: Database, principal: Principal, named: str | None,
          events: Sequence[Any]) -> tuple[int, str]:
    first = events[0] if isinstance(events[0], Mapping) else {}
    project = first.get("project_uuid") if _usable(first.get("project_uuid")) else None
    try:
        with db.read() as session:
            return upload_team(session, principal.user_id, named, project)
    except HubError as error:
        raise SyncProblem(403, error.code, error.message) from None


def _checked(events: Sequence[Any], slug: str) -> list[Envelope]:
    envelopes: list[Envelope] = []
    problems: list[Problem] = []
    for index, event in enumerate(events):
        result = check(event, index)
        if isinstance(result, Envelope) and result.team_slug not in (None, slug):
            result = Problem(result.event_id, index,
                             f"team_slug {result.team_slug!r} is not the batch's team {slug!r}",
                             [{"field": "team_slug", "code": "TEAM_MISMATCH",
                               "message": f"expected {slug!r}"}])
        if isinstance(result, Problem):
            problems.append(result)
        else:
            envelopes.append(result)
    if problems:
        raise SyncProblem(400, "invalid_events",
                          f"{len(problems)} of {len(events)} events are invalid; nothing was "
                          "stored.", details=[p.to_json() for p in problems])
    return envelopes


class _Slots:
    """Batches this worker is processing; beyond ``size`` the hub answers 429."""

    def __init__(self, size: int) -> None:
        self._semaphore = threading.BoundedSemaphore(size)

    def try_acquire(self) -> bool:
        return self._semaphore.acquire(blocking=False)

    def release(self) -> None:
        self._semaphore.release()


def ingest_slots(request: Request) -> _Slots:
    """This worker's batch slots (created on first use from the app's settings)."""
    state = request.app.state
    if getattr(state, "ingest_slots", None) is None:
        state.ingest_slots = _Slots(state.settings.ingest_concurrency)
    slots: _Slots = state.ingest_slots
    return slots


@router.post("/api/v1/events/batch/", response_model=BatchOut, responses=BATCH_RESPONSES,
             openapi_extra=BATCH_BODY)
async def events_batch(request: Request, principal: PrincipalDep, db: DatabaseDep,
                       settings: SettingsDep) -> Any:
    """Store a batch of sync envelopes for one team (see the module docstring)."""
    refused = protocol_refusal(request)
    if refused is not None:
        return refused
    slots = ingest_slots(request)
    if not slots.try_acquire():
        return SyncProblem(429, "throttled", "Throttled: too many batches in progress; "
                           "retry later.", retry_after=RETRY_AFTER_MIN).response()
    try:
        body = await read_json(request, settings.ingest_max_bytes)
        events = _events(body, settings)
        named = _team_slug(request.headers.get("x-team-slug"), events)
        team_id, slug = await run_in_threadpool(_team, db, principal, named, events)
        envelopes = _checked(events, slug)
        results = await run_in_threadpool(ingest_batch, db, team_id, principal.user_id,
                                          envelopes)
    except BodyProblem as problem:
        return SyncProblem(problem.status, problem.code, problem.message).response()
    except SyncProblem as problem:
        return problem.response()
    finally:
        slots.release()
    summary = {"success": 0, "duplicate": 0, "rejected": 0}
    for result in results:
        summary[result.status] += 1
    return {"results": [r.to_json() for r in results], "summary": summary}
