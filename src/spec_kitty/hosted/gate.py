"""The rollout gate: hosted features exist only when ``SPEC_KITTY_ENABLE_SAAS_SYNC`` is on.

Contract (sync-subsystem reference §5): the variable is on when, trimmed and compared
case-insensitively, it is one of ``1``, ``true``, ``yes``, ``y`` or ``on``; anything else,
unset or empty included, is off. It is read from the environment on every call and never
cached, so a long-lived process (the dashboard, the daemon) follows the variable it was
given and tests can flip it freely. Import-light: the CLI consults it at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from spec_kitty.core.errors import SpecKittyError

GATE_ENV = "SPEC_KITTY_ENABLE_SAAS_SYNC"
TRUTHY = frozenset({"1", "true", "yes", "y", "on"})
OFF_MESSAGE = (
    "Hosted SaaS sync is not enabled on this machine. "
    "Set `SPEC_KITTY_ENABLE_SAAS_SYNC=1` to opt in."
)
OFF_ERROR_CODE = "ROLLOUT_DISABLED"


def is_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether hosted features are switched on for this process (never cached).

    ``environ`` defaults to ``os.environ`` at the time of the call.
    """
    value = (os.environ if environ is None else environ).get(GATE_ENV, "")
    return value.strip().lower() in TRUTHY


def require_enabled(environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`HostedDisabled` (exit 1, ``ROLLOUT_DISABLED``) when the gate is off.

    Every hosted entry point calls this first, so library callers (sync, the daemon)
    fail closed even when they are reached without going through the CLI.
    """
    if not is_enabled(environ):
        raise HostedDisabled()


class HostedDisabled(SpecKittyError):
    """The rollout gate is off: exit 1, ``ROLLOUT_DISABLED``, the reference's off message."""

    def __init__(self) -> None:
        super().__init__(OFF_MESSAGE, OFF_ERROR_CODE)
