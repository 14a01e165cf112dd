"""The one exception type every layer raises for user-facing failures.

The CLI turns a :class:`SpecKittyError` into either a rich message on stderr or a
single ``{"error": ..., "error_code": ...}`` JSON object on stdout, so lower layers
never print and never decide exit codes on their own.
"""

from __future__ import annotations

from typing import Any


class SpecKittyError(Exception):
    """A failure the user can act on.

    ``code`` is a stable UPPER_SNAKE identifier agents can branch on; ``details``
    is extra JSON-serialisable context merged into the JSON error object.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        code: str = "ERROR",
        *,
        details: dict[str, Any] | None = None,
        hint: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"error": self.message, "error_code": self.code}
        if self.hint:
            payload["remediation"] = self.hint
        for key, value in self.details.items():
            payload.setdefault(key, value)
        return payload


class UsageError(SpecKittyError):
    """Wrong invocation (bad flag combination, missing argument): exit 2."""

    exit_code = 2

    def __init__(self, message: str, code: str = "USAGE_ERROR", **kwargs: Any) -> None:
        super().__init__(message, code, **kwargs)
