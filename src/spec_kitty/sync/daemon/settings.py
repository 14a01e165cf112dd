"""The daemon's fixed numbers and the environment variables that override them.

=================================  =========  ==============================================
variable                           default    meaning
=================================  =========  ==============================================
``SPEC_KITTY_SYNC_DISABLE``        unset      truthy: no daemon is started or contacted
``SPEC_KITTY_DAEMON_INTERVAL``     300        seconds between timer drains
``SPEC_KITTY_DAEMON_IDLE_TIMEOUT`` 900        seconds without work before it retires
=================================  =========  ==============================================

Ports: the first free one of 127.0.0.1:9400-9449. A daemon whose process is alive but
whose health check does not answer within 2 s is *unresponsive* (hung, or stopped with
SIGSTOP): never reused; ``sync daemon stop`` kills it after a 5 s grace. Backoff after a
failed drain: 0.5 s, doubling, at most 30 s. Every duration is in seconds (float).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

DISABLE_ENV = "SPEC_KITTY_SYNC_DISABLE"
INTERVAL_ENV = "SPEC_KITTY_DAEMON_INTERVAL"
IDLE_ENV = "SPEC_KITTY_DAEMON_IDLE_TIMEOUT"

PORT_RANGE = range(9400, 9450)
HOST = "127.0.0.1"
DEFAULT_INTERVAL = 300.0
DEFAULT_IDLE_TIMEOUT = 900.0
BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
HEALTH_TIMEOUT = 2.0  # a live daemon that does not answer health within this is hung
UNANSWERED_STOP_GRACE = 5.0  # a hung daemon gets this long to exit before SIGKILL
SUPERSEDE_CHECK = 2.0  # how often the daemon re-reads its owner record and the install
PROTOCOL_VERSION = 1
TOKEN_HEADER = "X-Spec-Kitty-Daemon-Token"
_TRUTHY = frozenset({"1", "true", "yes", "y", "on"})


def disabled(environ: Mapping[str, str] | None = None) -> bool:
    """``SPEC_KITTY_SYNC_DISABLE`` is truthy (same spelling rules as the rollout gate)."""
    value = (os.environ if environ is None else environ).get(DISABLE_ENV, "")
    return value.strip().lower() in _TRUTHY


def seconds(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    """A positive duration from the environment; ``default`` when unset or not positive."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


def backoff_delay(failures: int) -> float:
    """Seconds to wait after the ``failures``-th failed drain in a row (1 → 0.5 s)."""
    return float(min(BACKOFF_START * 2 ** max(failures - 1, 0), BACKOFF_MAX))


def version_key(version: str) -> tuple[int, ...]:
    """The release numbers of a version, padded to four (``"1.10rc1"`` → ``(1, 10, 0, 0)``).

    Pre-release and local parts are ignored; a string without a release is ``()``.
    """
    found = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    if found is None:
        return ()
    numbers = [int(part) for part in found.group(1).split(".")[:4]]
    return tuple(numbers + [0] * (4 - len(numbers)))


def is_older(version: str, than: str) -> bool:
    """``version`` is an older release than ``than`` (unparseable counts as oldest)."""
    return version_key(version) < version_key(than)
