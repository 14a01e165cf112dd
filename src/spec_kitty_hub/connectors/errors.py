"""Typed failures of provider connectors.

Every error names the provider and carries a stable ``code`` the hub maps onto its
PRI-12 error envelope (``category`` is ``provider``). ``retryable`` tells a job
runner whether trying the same operation later may succeed; ``effect_unknown``
marks a write whose outcome was lost in transit (never re-send it blindly: look it
up first, which :meth:`IssueConnector.create_issue` does with an idempotency key).
"""

from __future__ import annotations


class ConnectorError(Exception):
    code = "provider_error"
    retryable = False

    def __init__(self, provider: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
        self.status = status


class AuthenticationFailed(ConnectorError):
    code = "provider_auth_failed"


class PermissionDenied(ConnectorError):
    code = "provider_forbidden"


class NotFound(ConnectorError):
    code = "provider_not_found"


class InvalidRequest(ConnectorError):
    code = "provider_invalid_request"


class UnsupportedTransition(ConnectorError):
    code = "provider_unsupported_transition"


class UnexpectedResponse(ConnectorError):
    code = "provider_unexpected_response"


class RateLimited(ConnectorError):
    """The provider's budget is spent for longer than we may wait in-process."""

    code = "rate_limited"
    retryable = True

    def __init__(self, provider: str, retry_after: float) -> None:
        super().__init__(provider, f"rate limited; retry after {retry_after:.0f} s", status=429)
        self.retry_after = retry_after


class ProviderUnavailable(ConnectorError):
    code = "provider_unavailable"
    retryable = True

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        effect_unknown: bool = False,
    ) -> None:
        super().__init__(provider, message, status=status)
        self.effect_unknown = effect_unknown


class NetworkFailure(ConnectorError):
    code = "provider_network_error"
    retryable = True

    def __init__(self, provider: str, message: str, *, effect_unknown: bool) -> None:
        super().__init__(provider, message)
        self.effect_unknown = effect_unknown
