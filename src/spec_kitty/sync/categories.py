"""Failure categories of a drain and the one remediation hint each gets.

Keyword matching in a fixed order, first match wins (reference §2.4); the hub's
``error_code`` is tried before the message text, so a hub that names its error
precisely is never mis-filed by a stray word.
"""

from __future__ import annotations

OVERSIZED_BATCH = "oversized_batch"
OVERSIZED_EVENT = "oversized_event"
THROTTLED = "throttled"
SCHEMA_MISMATCH = "schema_mismatch"
AUTH_EXPIRED = "auth_expired"
UNAUTHENTICATED = "unauthenticated"
MISSING_TEAM = "direct_ingress_missing_private_team"
RETRYABLE_TRANSPORT = "retryable_transport"
SERVER_ERROR = "server_error"
PROTOCOL_MISMATCH = "protocol_mismatch"
UNKNOWN = "unknown"

_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (OVERSIZED_BATCH, ("oversized_batch", "oversized batch", "payload too large")),
    (OVERSIZED_EVENT, ("oversized_event", "oversized event", "event too large")),
    (THROTTLED, ("throttled", "rate limit", "too many requests", "429")),
    (SCHEMA_MISMATCH, ("invalid", "schema", "field", "missing", "type", "unknown_lane",
                       "forbidden_key")),
    (AUTH_EXPIRED, ("token", "expired", "unauthorized", "401")),
    (UNAUTHENTICATED, ("unauthenticated", "not logged in", "no session")),
    (MISSING_TEAM, ("team", "forbidden", "403")),
    (RETRYABLE_TRANSPORT, ("timeout", "timed out", "connection", "unreachable", "network")),
    (SERVER_ERROR, ("server error", "internal", "500", "502", "503", "504", "5xx")),
)

HINTS: dict[str, str] = {
    OVERSIZED_BATCH: "retry `spec-kitty sync now`; batches are halved automatically",
    OVERSIZED_EVENT: "the event exceeds the hub's size limit; see `sync status` failures "
                     "and shorten the recorded reason/evidence",
    THROTTLED: "the hub is busy; run `spec-kitty sync now` again in a minute",
    SCHEMA_MISMATCH: "run `spec-kitty sync diagnose` to see the offending fields",
    AUTH_EXPIRED: "run `spec-kitty auth login` and then `spec-kitty sync now`",
    UNAUTHENTICATED: "run `spec-kitty auth login`",
    MISSING_TEAM: "ask a hub admin to add you to the team, or log in to the right hub",
    RETRYABLE_TRANSPORT: "check the network and the hub URL (`spec-kitty sync server`), "
                         "then retry",
    SERVER_ERROR: "the hub failed; retry later or ask its admin to check the hub's log",
    PROTOCOL_MISMATCH: "the hub does not serve this CLI's sync protocol: follow its "
                       "upgrade guidance; events stay queued",
    UNKNOWN: "run `spec-kitty sync diagnose` and `spec-kitty sync status` for details",
}


def categorize(message: str, code: str = "") -> str:
    """The category of one failure, from the hub's ``error_code`` and then its message."""
    for text in (code, message):
        lowered = text.lower()
        if not lowered:
            continue
        for category, words in _KEYWORDS:
            if any(word in lowered for word in words):
                return category
    return UNKNOWN


def category_of_status(status: int) -> str:
    """The category of a whole-batch HTTP failure (0 = no answer at all)."""
    if status == 0 or status == 408:
        return RETRYABLE_TRANSPORT
    if status == 401:
        return AUTH_EXPIRED
    if status == 403:
        return MISSING_TEAM
    if status == 412:
        return PROTOCOL_MISMATCH
    if status == 413:
        return OVERSIZED_BATCH
    if status == 429:
        return THROTTLED
    return SERVER_ERROR if status >= 500 else UNKNOWN
