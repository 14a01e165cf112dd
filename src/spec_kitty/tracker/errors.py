"""Errors raised by the tracker layer, each with a stable ``error_code``.

Hard-break cases (removed provider, ``map add`` or credentials for a hub-backed
provider, ``sync publish``) carry deterministic messages so scripts and agents can
match them; they are listed in docs/trackers.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError


class TrackerError(SpecKittyError):
    """Base class for every tracker failure."""


class TrackerConfigError(TrackerError):
    """A bad value in ``.kittify/config.yaml`` ``tracker:``, naming the file, line and field."""

    def __init__(self, path: Path, field: str, problem: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(
            f"{where}: {field}: {problem}",
            "TRACKER_CONFIG_INVALID",
            details={"file": str(path), "field": field, "line": line},
        )


class UnknownProviderError(TrackerError):
    def __init__(self, provider: str, supported: list[str]) -> None:
        super().__init__(
            f"Unknown provider {provider!r}. Supported providers: {', '.join(supported)}.",
            "TRACKER_UNKNOWN_PROVIDER",
            details={"provider": provider},
        )


class RemovedProviderError(TrackerError):
    def __init__(self, provider: str) -> None:
        super().__init__(
            f"Provider '{provider}' is no longer supported.",
            "TRACKER_PROVIDER_REMOVED",
            details={"provider": provider},
        )


class HardBreakError(TrackerError):
    """A refused operation whose message is part of the contract (never reworded)."""

    def __init__(self, message: str, code: str, **details: Any) -> None:
        super().__init__(message, code, details=details)


class TrackerNotConfigured(TrackerError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "No tracker is bound to this project" + (f": {detail}" if detail else "."),
            "TRACKER_NOT_CONFIGURED",
            hint="Run `spec-kitty tracker bind --provider <name>` first.",
        )


class EgressRefused(TrackerError):
    """The consent gate said no; raised before any subprocess or HTTP call."""

    def __init__(self, message: str, channel: str) -> None:
        super().__init__(message, "TRACKER_EGRESS_REFUSED", details={"channel": channel})


class LocalToolError(TrackerError):
    """``bd`` or ``fp`` failed, was missing, or printed something we cannot read."""

    def __init__(
        self, message: str, code: str = "TRACKER_LOCAL_TOOL_FAILED", *, retryable: bool = False
    ) -> None:
        super().__init__(message, code)
        self.retryable = retryable


class HubClientUnavailable(TrackerError):
    def __init__(self, provider: str) -> None:
        super().__init__(
            f"Provider '{provider}' is served through the team hub, and no hub client is "
            "configured in this build.",
            "TRACKER_HUB_CLIENT_UNAVAILABLE",
            details={"provider": provider},
        )
