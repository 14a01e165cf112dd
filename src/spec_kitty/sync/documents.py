"""Mission documents to the hub: ``POST /api/dossier/push-content/`` (reference §(a) 7).

After the events, ``sync now`` run inside a project pushes each mission's spec.md,
plan.md, tasks.md, WP files, review feedback files (``reviews/*.md``, which the hub's
timeline shows beside the move that sent work back) and ``status.json`` (whose subtask
marks give the hub's cards their subtask progress), by SHA-256 content hash. What the
hub has acknowledged (201 ``stored`` or 200 ``already_exists``) is remembered per scope
in the queue file's ``documents`` table, so an unchanged file is never sent twice. Files
over 512 KiB are skipped (the hub's limit) and reported. Every upload carries
``X-Spec-Kitty-Sync-Protocol``; a 412 (protocol not served) stops the push with the
hub's upgrade guidance in ``protocol_refused``.

The acknowledgements live in the *scoped* queue file (the caller passes the queue of
the current auth scope), never in the legacy ``<runtime>/queue.db``: a document pushed
for one account is pushed again for another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spec_kitty.core.sync import protocol as sync_protocol
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.sync.queue import EventQueue

if TYPE_CHECKING:
    import httpx

PUSH_PATH = "/api/dossier/push-content/"
MAX_DOCUMENT_BYTES = 512 * 1024
_TABLE = """CREATE TABLE IF NOT EXISTS documents (
    project_uuid TEXT NOT NULL, mission_slug TEXT NOT NULL, artifact_path TEXT NOT NULL,
    content_hash TEXT NOT NULL, PRIMARY KEY (project_uuid, mission_slug, artifact_path))"""


@dataclass
class DocumentSummary:
    pushed: int = 0
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    protocol_refused: str | None = None  # the hub's upgrade guidance after a 412

    def to_json(self) -> dict[str, Any]:
        return {"pushed": self.pushed, "unchanged": self.unchanged, "failed": self.failed,
                "protocol_refused": self.protocol_refused}


def mission_documents(project: ProjectPaths) -> Iterator[tuple[str, str, str]]:
    """``(mission_slug, artifact_path, text)`` of every document of every mission."""
    from spec_kitty.repo.missions import list_missions

    for mission in list_missions(project):
        paths = [mission.path / name for name in ("spec.md", "plan.md", "tasks.md")]
        paths += sorted(mission.tasks_dir.glob("WP*.md")) if mission.tasks_dir.is_dir() else []
        reviews = mission.path / "reviews"
        paths += sorted(reviews.glob("*.md")) if reviews.is_dir() else []
        # The reduced snapshot carries the subtask marks (annotations, which have no
        # envelope of their own): the hub's board counts subtask progress from it.
        paths.append(mission.snapshot_file)
        for path in paths:
            if path.is_file():
                rel = path.relative_to(mission.path).as_posix()
                yield mission.slug, rel, path.read_text(encoding="utf-8", errors="replace")


def push_documents(client: httpx.Client, queue: EventQueue, project: ProjectPaths,
                   project_uuid: str, team_slug: str | None) -> DocumentSummary:
    """Push what changed since the hub last acknowledged it; never raises for HTTP.

    A 401/403/5xx or transport failure stops the push (the rest is tried next time).
    """
    import httpx

    summary = DocumentSummary()
    conn = queue.connection
    conn.execute(_TABLE)
    headers = {sync_protocol.HEADER: sync_protocol.CURRENT}
    if team_slug:
        headers["X-Team-Slug"] = team_slug
    for slug, rel, text in mission_documents(project):
        body = text.encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()
        known = conn.execute("SELECT content_hash FROM documents WHERE project_uuid = ? AND "
                             "mission_slug = ? AND artifact_path = ?",
                             (project_uuid, slug, rel)).fetchone()
        if known is not None and known[0] == digest:
            summary.unchanged += 1
            continue
        if len(body) > MAX_DOCUMENT_BYTES:
            summary.failed.append({"artifact_path": f"{slug}/{rel}",
                                   "error": f"{len(body)} bytes; the hub takes at most "
                                   f"{MAX_DOCUMENT_BYTES}"})
            continue
        try:
            response = client.post(PUSH_PATH, headers=headers, json={
                "project_uuid": project_uuid, "mission_slug": slug, "artifact_path": rel,
                "content_body": text, "content_hash": digest, "hash_algorithm": "sha256",
                "team_slug": team_slug})
        except httpx.TransportError as exc:
            summary.failed.append({"artifact_path": f"{slug}/{rel}", "error": str(exc)})
            break
        if response.status_code in (200, 201):
            conn.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)",
                         (project_uuid, slug, rel, digest))
            summary.pushed += 1
            continue
        summary.failed.append({"artifact_path": f"{slug}/{rel}",
                               "error": f"HTTP {response.status_code}: {response.text[:200]}"})
        if response.status_code == 412:
            from spec_kitty.sync.batch import upgrade_guidance

            try:
                refusal: Any = response.json()
            except ValueError:
                refusal = None
            summary.protocol_refused = upgrade_guidance(refusal) or response.text[:200]
            break
        if response.status_code in (401, 403) or response.status_code >= 500:
            break
    return summary
