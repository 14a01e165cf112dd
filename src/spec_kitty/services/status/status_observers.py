"""The post-write seam: hosted features hear about every status write and mission step.

:func:`notify` is called by the status write path (``services.transitions.record`` and
finalize's seeding) after every successful append; :func:`notify_mission` after each
mission lifecycle step (create, finalize, accept, merge). With the rollout gate off
they return at once and import nothing of the hosted packages (no file outside the
project, no network, no process). With it on, each observer is imported lazily and
called in turn; an observer that raises only produces a one-line warning on stderr,
because a status write must never fail or wait on sync. Observers are
``"module:function"`` names so that nothing is imported until they run.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

StatusEvent = Mapping[str, Any]  # one row as appended to status.events.jsonl

# notify(repo_root, mission_slug, events) receivers.
STATUS_OBSERVERS: tuple[str, ...] = (
    "spec_kitty.sync.emitter:emit_status_events",
    "spec_kitty.services.tracker_projection:on_status_events",
)
# notify_mission(repo_root, mission_slug) receivers.
MISSION_OBSERVERS: tuple[str, ...] = ("spec_kitty.sync.emitter:emit_mission",)


def _resolve(name: str) -> Callable[..., Any]:
    module, _, attribute = name.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    return function


def _warn(name: str, exc: BaseException) -> None:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = "run `spec-kitty sync backfill` once it is fixed" if "sync" in name else ""
    print(f"warning: {name.partition(':')[0]}: {message}" + (f" ({hint})" if hint else ""),
          file=sys.stderr)


def _call(observers: tuple[str, ...], *args: Any) -> None:
    from spec_kitty.hosted import gate

    if not gate.is_enabled():
        return
    for name in observers:
        try:
            _resolve(name)(*args)
        except Exception as exc:  # never let a hosted feature fail the status write
            _warn(name, exc)


def notify(repo_root: Path, mission_slug: str, events: Sequence[StatusEvent]) -> None:
    """Tell the hosted features about ``events`` just appended to the mission's log.

    Never raises; returns at once when ``events`` is empty or the gate is off.
    """
    if events:
        _call(STATUS_OBSERVERS, repo_root, mission_slug, events)


def notify_mission(repo_root: Path, mission_slug: str) -> None:
    """Tell the hosted features that a mission lifecycle step was recorded on disk.

    Never raises; returns at once when the gate is off.
    """
    _call(MISSION_OBSERVERS, repo_root, mission_slug)
