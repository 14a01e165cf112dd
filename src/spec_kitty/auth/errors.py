"""Errors of the auth layer; each is a :class:`SpecKittyError` with a stable code."""

from __future__ import annotations

from typing import Any

from spec_kitty.core.errors import SpecKittyError

LOGIN_HINT = "Run `spec-kitty auth login`."


class NotLoggedIn(SpecKittyError):
    def __init__(self, message: str = "You are not logged in to a hub.") -> None:
        super().__init__(message, "NOT_LOGGED_IN", hint=LOGIN_HINT)


class SessionFileError(SpecKittyError):
    """The session file exists but must not or cannot be used (permissions, corruption)."""

    def __init__(self, message: str, code: str, *, hint: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, code, hint=hint, details=details)


class ReauthRequired(SpecKittyError):
    """The hub no longer accepts this session (expired, revoked, replayed)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, "REAUTH_REQUIRED",
                         hint="Run `spec-kitty auth login` to log in again.",
                         details={"reason": reason})


class LoginFailed(SpecKittyError):
    def __init__(self, message: str, code: str = "LOGIN_FAILED", *,
                 hint: str | None = None) -> None:
        super().__init__(message, code, hint=hint)


class HubError(SpecKittyError):
    """The hub could not be reached, or answered something we cannot use."""

    def __init__(self, message: str, code: str = "HUB_ERROR", *,
                 details: dict[str, Any] | None = None, hint: str | None = None) -> None:
        super().__init__(message, code, details=details, hint=hint)
