"""Errors raised by hub services; the admin CLI and the HTTP layer render them."""

from __future__ import annotations


class HubError(Exception):
    """A refusal the operator or user can act on.

    ``code`` is a stable upper-case identifier (``USER_EXISTS``, ``TEAM_NOT_FOUND``...);
    ``message`` is one sentence for a person.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class OAuthError(Exception):
    """An OAuth 2.0 error response (RFC 6749 §5.2, RFC 8628 §3.5, RFC 7009).

    ``error`` is the registered code (``invalid_grant``, ``authorization_pending``...),
    ``status`` the HTTP status the token endpoint answers with (400, or 401 for
    ``invalid_client``).
    """

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
