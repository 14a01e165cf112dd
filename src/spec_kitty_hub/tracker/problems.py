"""The tracker API's error envelope (PRI-12, Spec Kitty tracker reference §2).

Bodies carry both spellings the published clients read, ``code``/``category`` (PRI-16)
and ``error_code``/``error_category`` (later), plus ``message``, ``http_status``,
``retryable``, ``user_action_required``, ``source`` (``saas`` or ``provider``),
``retry_after_seconds``, ``provider`` and ``details``.
"""

from __future__ import annotations

from typing import Any

from spec_kitty_hub.connectors import ConnectorError, RateLimited


class TrackerProblem(Exception):
    """Raised by tracker routes and services; rendered by :func:`envelope`."""

    def __init__(self, status: int, code: str, message: str, *, category: str = "client",
                 provider: str | None = None, retryable: bool = False,
                 user_action_required: bool = False, source: str = "saas",
                 retry_after_seconds: float | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.category = category
        self.provider = provider
        self.retryable = retryable
        self.user_action_required = user_action_required
        self.source = source
        self.retry_after_seconds = retry_after_seconds
        self.details = details or {}

    def envelope(self) -> dict[str, Any]:
        return {
            "code": self.code, "error_code": self.code,
            "category": self.category, "error_category": self.category,
            "message": self.message, "http_status": self.status,
            "retryable": self.retryable, "user_action_required": self.user_action_required,
            "source": self.source, "retry_after_seconds": self.retry_after_seconds,
            "provider": self.provider, "details": self.details,
        }


def from_connector(error: ConnectorError) -> TrackerProblem:
    """A provider failure as the envelope says it (``source: provider``)."""
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    status = 429 if isinstance(error, RateLimited) else 502
    needs_user = error.code in ("provider_auth_failed", "provider_forbidden")
    return TrackerProblem(status, error.code, str(error), category="provider",
                          provider=error.provider, retryable=error.retryable,
                          user_action_required=needs_user, source="provider",
                          retry_after_seconds=retry_after)


def problem_json(error: ConnectorError | Exception) -> dict[str, Any]:
    """The envelope of any failure a job may hit (stored in ``error_json``)."""
    if isinstance(error, TrackerProblem):
        return error.envelope()
    if isinstance(error, ConnectorError):
        return from_connector(error).envelope()
    return TrackerProblem(500, "internal_error", f"{type(error).__name__}: {error}",
                          category="server").envelope()
