"""Timeline entries from stored envelopes: who moved what where, when, and why.

An entry: ``{seq, event_id, event_type, label, at (occurrence, ISO), wp_id|None, from_lane,
to_lane, from_label, to_label, actor (display text)|None, reason, force, review_ref, feedback_path,
feedback (text)|None, verdict|None}``. Review feedback: a move whose ``review_ref`` is
``feedback:<path>`` points at the review file the CLI wrote under the mission; when that
file was pushed to the dossier its text is attached. A move out of review back to work
is a ``changes_requested`` verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spec_kitty.core.status.board import LANE_LABELS
from spec_kitty_hub.db.sync_models import DossierDocument, Mission, SyncEvent

REVIEW_LANES = frozenset({"for_review", "in_review"})
REWORK_LANES = frozenset({"planned", "claimed", "in_progress"})
FEEDBACK_PREFIX = "feedback:"
EVENT_LABELS = {"WPCreated": "created", "MissionCreated": "mission created",
                "MissionAccepted": "mission accepted", "MissionMerged": "mission merged"}
MAX_FEEDBACK_CHARS = 20_000
WP_HISTORY_LIMIT = 500  # a work package's page shows at most its latest 500 events


def actor_text(actor: Any) -> str | None:
    """A person or agent as one string: a plain name, or ``tool``/``role``/``name`` of an
    actor object."""
    if isinstance(actor, Mapping):
        for key in ("name", "tool", "role", "id"):
            if isinstance(actor.get(key), str) and actor[key]:
                return str(actor[key])
        return None
    return str(actor) if isinstance(actor, str | int) and str(actor) else None


def label(lane: Any) -> str:
    """A lane as the board names it; no lane (or ``genesis``) is ``new``."""
    if not isinstance(lane, str) or lane in ("", "genesis"):
        return "new"
    return LANE_LABELS.get(lane, lane)


def entry(seq: int, envelope: Mapping[str, Any]) -> dict[str, Any]:
    """One stored envelope as a timeline entry (feedback text not yet attached)."""
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), Mapping) else {}
    assert isinstance(payload, Mapping)
    review_ref = payload.get("review_ref") if isinstance(payload.get("review_ref"), str) \
        else None
    from_lane, to_lane = payload.get("from_lane"), payload.get("to_lane")
    verdict = "changes_requested" if (from_lane in REVIEW_LANES and to_lane in REWORK_LANES) \
        else ("approved" if from_lane in REVIEW_LANES and to_lane in ("approved", "done")
              else None)
    feedback_path = review_ref[len(FEEDBACK_PREFIX):] if review_ref and \
        review_ref.startswith(FEEDBACK_PREFIX) else None
    reason = payload.get("reason")
    return {"seq": seq, "event_id": envelope.get("event_id"),
            "event_type": envelope.get("event_type"), "at": envelope.get("timestamp"),
            "label": EVENT_LABELS.get(str(envelope.get("event_type")),
                                      str(envelope.get("event_type"))),
            "wp_id": payload.get("wp_id") if isinstance(payload.get("wp_id"), str) else None,
            "from_lane": from_lane if isinstance(from_lane, str) else None,
            "to_lane": to_lane if isinstance(to_lane, str) else None,
            "from_label": label(from_lane), "to_label": label(to_lane),
            "actor": actor_text(payload.get("actor")),
            "reason": reason if isinstance(reason, str) and reason.strip() else None,
            "force": payload.get("force") is True, "review_ref": review_ref,
            "feedback_path": feedback_path, "feedback": None, "verdict": verdict}


def dossier_path(mission: Mission, feedback_path: str) -> str:
    """A feedback file's path within the mission: the CLI records it from the project
    root (``kitty-specs/<mission>/reviews/…``), the dossier keys it from the mission."""
    prefix = f"kitty-specs/{mission.mission_slug}/"
    return feedback_path[len(prefix):] if feedback_path.startswith(prefix) else feedback_path


def strip_frontmatter(text: str) -> str:
    """The body of a feedback file without its YAML frontmatter block (a BOM and CRLF
    line endings, as a Windows editor saves it, are read like the CLI reads them)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5:].lstrip("\n")
    return text


def attach_feedback(session: Session, mission: Mission,
                    entries: Iterable[dict[str, Any]]) -> None:
    """Fill ``feedback`` from the mission's dossier for entries that reference a file."""
    entries = list(entries)
    for item in entries:
        if item["feedback_path"]:
            item["feedback_path"] = dossier_path(mission, item["feedback_path"])
    wanted = {e["feedback_path"] for e in entries if e["feedback_path"]}
    if not wanted:
        return
    # Only the latest version of each file is read (a file may have many versions).
    latest = (select(func.max(DossierDocument.id))
              .where(DossierDocument.mission_id == mission.id,
                     DossierDocument.artifact_path.in_(sorted(wanted)))
              .group_by(DossierDocument.artifact_path))
    bodies = {path: strip_frontmatter(body)[:MAX_FEEDBACK_CHARS]
              for path, body in session.execute(
                  select(DossierDocument.artifact_path, DossierDocument.content_body)
                  .where(DossierDocument.id.in_(latest)))}
    for item in entries:
        if item["feedback_path"]:
            item["feedback"] = bodies.get(item["feedback_path"])


def page(session: Session, mission: Mission, limit: int,
         before: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the mission's stored events, newest first (arrival order): the latest
    ``limit`` ones, or the latest ``limit`` whose sequence is below ``before``. Returns
    ``(entries, older)``: ``older`` is the ``before`` cursor of the next older page (the
    oldest sequence shown), None when there is nothing older. One probe of the
    ``(mission_id, id)`` index, whatever the page's depth."""
    query = (select(SyncEvent.id, SyncEvent.envelope)
             .where(SyncEvent.team_id == mission.team_id, SyncEvent.mission_id == mission.id))
    if before is not None:
        query = query.where(SyncEvent.id < before)
    rows = list(session.execute(query.order_by(SyncEvent.id.desc()).limit(limit + 1)))
    entries = [entry(seq, orjson.loads(text)) for seq, text in rows[:limit]]
    attach_feedback(session, mission, entries)
    return entries, (entries[-1]["seq"] if len(rows) > limit else None)


def recent(session: Session, mission: Mission, limit: int) -> list[dict[str, Any]]:
    """The mission's latest ``limit`` stored events, newest first (arrival order)."""
    return page(session, mission, limit)[0]


def of_work_package(session: Session, mission: Mission, wp_id: str,
                    limit: int = WP_HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The latest ``limit`` stored events of one work package, in replay order (oldest
    first)."""
    newest = (select(SyncEvent.id, SyncEvent.envelope, SyncEvent.occurred_at,
                     SyncEvent.event_id)
              .where(SyncEvent.team_id == mission.team_id, SyncEvent.mission_id == mission.id,
                     SyncEvent.aggregate_id == wp_id)
              .order_by(SyncEvent.occurred_at.desc(), SyncEvent.event_id.desc())
              .limit(limit).subquery())
    rows = session.execute(select(newest.c.id, newest.c.envelope)
                           .order_by(newest.c.occurred_at, newest.c.event_id))
    entries = [entry(seq, orjson.loads(text)) for seq, text in rows]
    attach_feedback(session, mission, entries)
    return entries
