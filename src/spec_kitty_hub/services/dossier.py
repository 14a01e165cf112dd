"""Mission documents (dossier bodies): stored once per (mission, path, content hash).

Contract: /work/shared/reference/sync-subsystem.md §(a) 7 and §1.4 (the fields a CLI's
body-upload queue keeps). The content hash is SHA-256 of the body's UTF-8 bytes; a
hash sent by the client must match it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty_hub.db.sync_models import DossierDocument
from spec_kitty_hub.errors import HubError
from spec_kitty_hub.services.ingest import lock_missions, upsert_projects

MAX_BODY_BYTES = 512 * 1024


@dataclass(frozen=True)
class DocumentPush:
    """One validated push: where the document belongs and its body."""

    project_uuid: str
    project_slug: str | None
    mission_slug: str
    artifact_path: str
    content_body: str
    content_hash: str
    target_branch: str | None
    mission_type: str | None
    manifest_version: str | None


def _field(body: Mapping[str, Any], key: str, limit: int, required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise HubError(f"{key}: a non-empty string is required.", "invalid_request")
    if len(value) > limit:
        raise HubError(f"{key}: longer than {limit} characters.", "invalid_request")
    if "\x00" in value:
        raise HubError(f"{key}: NUL characters are not allowed.", "invalid_request")
    return value.strip()


def parse_push(body: Any) -> DocumentPush:
    """Validate a push-content body. Raises HubError ``invalid_request`` (400),
    ``hash_mismatch`` (400) or ``oversized_document`` (413)."""
    if not isinstance(body, Mapping):
        raise HubError("The body must be a JSON object.", "invalid_request")
    content = body.get("content_body")
    if not isinstance(content, str):
        raise HubError("content_body: a string is required.", "invalid_request")
    if "\x00" in content:
        raise HubError("content_body: NUL characters are not allowed.", "invalid_request")
    data = content.encode()
    if len(data) > MAX_BODY_BYTES:
        raise HubError(f"content_body: {len(data)} bytes; at most {MAX_BODY_BYTES}.",
                       "oversized_document")
    digest = hashlib.sha256(data).hexdigest()
    algorithm = body.get("hash_algorithm") or "sha256"
    if algorithm != "sha256":
        raise HubError(f"hash_algorithm {algorithm!r} is not supported (sha256).",
                       "invalid_request")
    sent = body.get("content_hash")
    if sent is not None and (not isinstance(sent, str) or sent.lower().removeprefix(
            "sha256:") != digest):
        raise HubError("content_hash does not match the SHA-256 of content_body.",
                       "hash_mismatch")
    path = _field(body, "artifact_path", 500, True) or ""
    if path.startswith("/") or ".." in path.split("/"):
        raise HubError("artifact_path must be relative to the mission.", "invalid_request")
    return DocumentPush(
        project_uuid=_field(body, "project_uuid", 64, True) or "",
        project_slug=_field(body, "project_slug", 200, False),
        mission_slug=_field(body, "mission_slug", 200, True) or "",
        artifact_path=path, content_body=content, content_hash=digest,
        target_branch=_field(body, "target_branch", 200, False),
        mission_type=_field(body, "mission_type", 64, False),
        manifest_version=str(body["manifest_version"])[:32]
        if body.get("manifest_version") is not None else None)


def store_document(session: Session, team_id: int, user_id: int,
                   push: DocumentPush) -> tuple[bool, DossierDocument]:
    """Store ``push`` for ``team_id`` (creating its project and mission when new);
    returns (stored now, the document). A body already stored is not stored again."""
    projects = upsert_projects(session, team_id, {push.project_uuid: (push.project_slug, None)})
    key = (projects[push.project_uuid], push.mission_slug)
    mission = lock_missions(session, team_id, {key})[key]
    existing = session.scalar(select(DossierDocument).where(
        DossierDocument.mission_id == mission.id,
        DossierDocument.artifact_path == push.artifact_path,
        DossierDocument.content_hash == push.content_hash))
    if existing is not None:
        return False, existing
    document = DossierDocument(
        mission_id=mission.id, artifact_path=push.artifact_path,
        content_hash=push.content_hash, hash_algorithm="sha256",
        size_bytes=len(push.content_body.encode()),
        content_body=push.content_body, target_branch=push.target_branch,
        mission_type=push.mission_type or mission.mission_type,
        manifest_version=push.manifest_version, uploaded_by=user_id)
    session.add(document)
    session.flush()
    return True, document
