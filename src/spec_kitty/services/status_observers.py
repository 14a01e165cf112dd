"""The post-write seam: hosted features hear about every status write.

``services.transitions.record`` calls :func:`notify` after every successful append.
With the rollout gate off it returns at once and imports none of the hosted packages
(no file outside the project, no network, no process). With it on, each observer is
imported lazily and called in turn; one that raises only prints a one-line warning on
stderr, because a status write must never fail or wait on a hosted feature.
Observers are ``"module:function"`` names so nothing is imported until they run.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

StatusEvent = Mapping[str, Any]  # one row as appended to status.events.jsonl

# notify(repo_root, mission_slug, events) receivers.
STATUS_OBSERVERS: tuple[str, ...] = (
    "spec_kitty.services.tracker_projection:on_status_events",
)


def notify(repo_root: Path, mission_slug: str, events: Sequence[StatusEvent]) -> None:
    """Tell the hosted features about ``events`` just appended to the mission's log.

    Never raises; returns at once when ``events`` is empty or the gate is off.
    """
    if not events:
        return
    from spec_kitty.hosted import gate

    if not gate.is_enabled():
        return
    for name in STATUS_OBSERVERS:
        module, _, attribute = name.partition(":")
        try:
            getattr(importlib.import_module(module), attribute)(repo_root, mission_slug, events)
        except Exception as exc:  # never let a hosted feature fail the status write
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            print(f"warning: {module}: {message}", file=sys.stderr)
