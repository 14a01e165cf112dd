"""The hub's sync endpoints as typed calls over the one authenticated client.

- ``GET /api/v1/sync/health/``: ``sync_ingress.limits`` (reference §2.2), read into
  :class:`Limits`; any failure falls back to the defaults.
- ``POST /api/v1/events/batch/``: gzip of ``{"events": [...]}``, ``X-Team-Slug``,
  ``X-Spec-Kitty-Sync-Protocol``, answered by :class:`BatchAnswer` (reference §2.3; a
  412 carries the hub's upgrade guidance, :mod:`spec_kitty.core.sync.protocol`).
  Transport failures are retried once and then reported as status 0; nothing here
  raises for an HTTP answer.

The request body is assembled from the queue's stored JSON text, so a drain never
re-serialises envelopes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spec_kitty.core.sync import protocol as sync_protocol
from spec_kitty.sync.queue import QueuedEvent

if TYPE_CHECKING:
    import httpx

BATCH_PATH = "/api/v1/events/batch/"
HEALTH_PATH = "/api/v1/sync/health/"
POST_TIMEOUT_SECONDS = 60.0
PROBE_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_EVENTS = 1000
DEFAULT_MAX_BYTES = 262_144
HARD_MAX_BYTES = 524_288
SAFETY_FACTOR = 0.90


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may carry: event count and decompressed body bytes."""

    max_events: int = DEFAULT_MAX_EVENTS
    max_bytes: int = DEFAULT_MAX_BYTES
    advertised: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"max_events": self.max_events, "max_bytes": self.max_bytes,
                "advertised": self.advertised}


def limits_from_health(body: Any) -> Limits:
    """:class:`Limits` from a health answer; defaults for anything missing or odd."""
    raw = body.get("sync_ingress", {}).get("limits") if isinstance(body, dict) else None
    if not isinstance(raw, dict):
        return Limits()
    events, size = raw.get("max_events_per_batch"), raw.get("max_decompressed_bytes_per_batch")
    max_events = min(events, DEFAULT_MAX_EVENTS) if isinstance(events, int) and events > 0 \
        else DEFAULT_MAX_EVENTS
    max_bytes = min(int(size * SAFETY_FACTOR), HARD_MAX_BYTES) \
        if isinstance(size, int) and size > 0 else DEFAULT_MAX_BYTES
    return Limits(max_events, max_bytes, advertised=True)


def probe_limits(client: httpx.Client) -> Limits:
    """The hub's advertised limits, or the defaults when it does not answer usefully."""
    import httpx

    try:
        response = client.get(HEALTH_PATH, timeout=PROBE_TIMEOUT_SECONDS)
        if response.status_code != 200:
            return Limits()
        return limits_from_health(response.json())
    except (httpx.HTTPError, ValueError):
        return Limits()


@dataclass
class BatchAnswer:
    """The hub's answer to one batch.

    ``status`` is the HTTP status (0: no answer). ``results`` maps event_id to
    ``(status, error)`` for a 200; ``details`` maps event_id to its reason for a 400;
    ``guidance`` is the upgrade guidance of a 412 (protocol not served).
    """

    status: int
    error: str = ""
    error_code: str = ""
    results: dict[str, tuple[str, str]] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    guidance: str = ""


def upgrade_guidance(body: Any) -> str:
    """``sync_protocol.upgrade_guidance`` of a 412 body ("" when absent)."""
    section = body.get("sync_protocol") if isinstance(body, dict) else None
    text = section.get("upgrade_guidance") if isinstance(section, dict) else None
    return text if isinstance(text, str) else ""


def body_of(events: Sequence[QueuedEvent]) -> bytes:
    """``{"events":[...]}`` from the stored envelope texts (decompressed bytes)."""
    return b'{"events":[' + b",".join(event.data.encode() for event in events) + b"]}"


def _reason(item: dict[str, Any]) -> str:
    for key in ("error", "detail", "reason", "error_message"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return "rejected"


def _details(raw: Any) -> dict[str, str]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if not isinstance(raw, list):
        return {}
    return {str(item["event_id"]): _reason(item) for item in raw
            if isinstance(item, dict) and item.get("event_id")}


def parse_answer(status: int, body: Any) -> BatchAnswer:
    """A :class:`BatchAnswer` from an HTTP status and its parsed JSON body (or None)."""
    data = body if isinstance(body, dict) else {}
    error = data.get("error") or data.get("detail") or ""
    answer = BatchAnswer(status, error if isinstance(error, str) else json.dumps(error),
                         str(data.get("error_code") or ""))
    if status == 200:
        for item in data.get("results") or []:
            if isinstance(item, dict) and item.get("event_id"):
                answer.results[str(item["event_id"])] = (
                    str(item.get("status", "")), _reason(item) if item.get("status") not in
                    ("success", "duplicate") else "")
    elif status == 400:
        answer.details = _details(data.get("details"))
    elif status == 412:
        answer.guidance = upgrade_guidance(data)
    return answer


def post_batch(client: httpx.Client, events: Sequence[QueuedEvent],
               team_slug: str | None) -> BatchAnswer:
    """Send one batch; one retry on a transport failure, then ``BatchAnswer(0, …)``.

    Raises :class:`~spec_kitty.auth.errors.ReauthRequired` when the session can no
    longer be refreshed (the client already refreshed once on a 401).
    """
    import httpx

    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
               sync_protocol.HEADER: sync_protocol.CURRENT}
    if team_slug:
        headers["X-Team-Slug"] = team_slug
    content = gzip.compress(body_of(events), compresslevel=5)
    last_error = ""
    for _attempt in range(2):
        try:
            response = client.post(BATCH_PATH, content=content, headers=headers,
                                   timeout=POST_TIMEOUT_SECONDS)
        except httpx.TransportError as exc:
            last_error = f"connection to the hub failed: {type(exc).__name__}: {exc}"
            continue
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        return parse_answer(response.status_code, body)
    return BatchAnswer(0, last_error, "retryable_transport")
