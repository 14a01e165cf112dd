"""Deterministic crash points for the crash-recovery tests.

``SPEC_KITTY_CRASH_AT=<name>`` makes the process kill itself with SIGKILL the moment
it reaches the crash point of that name, exactly like a power cut or ``kill -9``
would, so tests can prove that every phase can be resumed or aborted. Unset (always,
outside those tests) it does nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "SPEC_KITTY_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
