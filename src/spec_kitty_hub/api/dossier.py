"""``POST /api/dossier/push-content/``: a CLI uploads one mission document body.

Contract: /work/shared/reference/sync-subsystem.md §(a) 7. Body (JSON, at most the
ingest byte cap): ``project_uuid``, ``mission_slug``, ``artifact_path``,
``content_body`` (at most 512 KiB UTF-8) required; ``content_hash`` (SHA-256 hex,
checked), ``hash_algorithm`` (``sha256``), ``project_slug``, ``target_branch``,
``mission_type``, ``manifest_version``, ``team_slug`` optional; other fields are
ignored. The team is ``X-Team-Slug`` or ``team_slug`` when given (it must be one of
the caller's), else the caller's team that already holds the project, else the
caller's private teamspace.

Answers: 201 ``{"status": "stored", …}``, 200 ``{"status": "already_exists", …}``,
400 ``invalid_request``/``hash_mismatch``/``invalid_json``, 401, 403
``team_forbidden``, 412 for a sync protocol this hub does not serve (as the batch
endpoint), 413 ``oversized_document``/``oversized_batch``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from spec_kitty_hub.api.bounded_body import BodyProblem, read_json
from spec_kitty_hub.api.deps import ApiErrorBody, DatabaseDep, PrincipalDep, SettingsDep
from spec_kitty_hub.api.sync_ingress import IngestError, SyncProblem, protocol_refusal
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.errors import HubError
from spec_kitty_hub.services.dossier import DocumentPush, parse_push, store_document
from spec_kitty_hub.services.sync_teams import upload_team
from spec_kitty_hub.services.tokens import Principal

router = APIRouter(tags=["sync"])


class PushOut(BaseModel):
    status: str
    artifact_path: str
    content_hash: str
    size_bytes: int
    team: str


PUSH_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["project_uuid", "mission_slug", "artifact_path",
                                   "content_body"],
    "properties": {key: {"type": "string"} for key in (
        "project_uuid", "mission_slug", "artifact_path", "content_body", "content_hash",
        "hash_algorithm", "project_slug", "target_branch", "mission_type", "team_slug")}}}}}}
PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": PushOut, "description": "Stored"},
    400: {"model": IngestError, "description": "Invalid body"},
    401: {"model": ApiErrorBody, "description": "Missing, invalid or expired token"},
    403: {"model": IngestError, "description": "Not a team of the caller"},
    412: {"description": "Sync protocol not served: body has sync_protocol.upgrade_guidance"},
    413: {"model": IngestError, "description": "Body too large"},
    415: {"model": IngestError, "description": "Unsupported Content-Encoding"},
}


def _team_for(db: Database, principal: Principal, named: str | None,
              project_uuid: str) -> tuple[int, str]:
    with db.read() as session:
        return upload_team(session, principal.user_id, named, project_uuid)


def _store(db: Database, team_id: int, user_id: int, push: DocumentPush) -> tuple[bool, int]:
    with db.write() as session:
        stored, document = store_document(session, team_id, user_id, push)
        return stored, document.size_bytes


@router.post("/api/dossier/push-content/", response_model=PushOut, responses=PUSH_RESPONSES,
             openapi_extra=PUSH_BODY)
async def push_content(request: Request, principal: PrincipalDep, db: DatabaseDep,
                       settings: SettingsDep) -> Any:
    """Store one mission document body (see the module docstring)."""
    refused = protocol_refusal(request)
    if refused is not None:
        return refused
    try:
        body = await read_json(request, settings.ingest_max_bytes)
        push = parse_push(body)
        named = request.headers.get("x-team-slug") or (
            body.get("team_slug") if isinstance(body.get("team_slug"), str) else None)
        team_id, team = await run_in_threadpool(_team_for, db, principal, named,
                                                push.project_uuid)
        stored, size = await run_in_threadpool(_store, db, team_id, principal.user_id, push)
    except BodyProblem as problem:
        return SyncProblem(problem.status, problem.code, problem.message).response()
    except HubError as error:
        status = {"oversized_document": 413, "team_forbidden": 403}.get(error.code, 400)
        return SyncProblem(status, error.code, error.message).response()
    except SyncProblem as problem:
        return problem.response()
    out = PushOut(status="stored" if stored else "already_exists",
                  artifact_path=push.artifact_path, content_hash=push.content_hash,
                  size_bytes=size, team=team)
    return JSONResponse(out.model_dump(), status_code=201 if stored else 200)
