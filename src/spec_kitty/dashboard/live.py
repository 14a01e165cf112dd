"""Live updates: watch each project's ``kitty-specs/`` and fan changes out to browsers.

One watcher per project feeds a :class:`ChangeFeed`; each server-sent-events
connection holds a queue subscribed to it. A change names the missions whose
directory was touched, so a page re-fetches only what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from spec_kitty.dashboard.projects import ServedProject

LOG = logging.getLogger("spec_kitty.dashboard")
# Low enough to push a change well within 0.3 s, high enough that the log append and
# the status.json rewrite (temp file, rename) of one status write arrive as one batch.
DEBOUNCE_MS = 50
STEP_MS = 10
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000
QUEUE_SIZE = 256
_CLOSED = None  # sentinel telling a stream to end


class ChangeFeed:
    """Publish/subscribe between the watchers and the open event streams."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        if self.closed:
            queue.put_nowait(_CLOSED)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.discard(queue)

    def publish(self, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            # A browser that stopped reading misses changes; its next one re-syncs it.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(message)

    def close(self) -> None:
        """End every stream, so the server can stop without waiting on them."""
        self.closed = True
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_CLOSED)

    def close_threadsafe(self) -> None:
        """``close`` from a signal handler or another thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.close)
        else:
            self.closed = True


def changed_missions(specs_dir: Path, paths: set[str]) -> list[str]:
    slugs = set()
    for raw in paths:
        try:
            relative = Path(raw).relative_to(specs_dir)
        except ValueError:
            continue
        if relative.parts and not relative.parts[0].startswith("."):
            slugs.add(relative.parts[0])
    return sorted(slugs)


def _not_a_temp_file(_change: Any, path: str) -> bool:
    # Atomic writers create `.name.<pid>.<rand>.tmp` first; the rename that follows
    # is the change that matters.
    return not path.endswith(".tmp")


async def watch_project(project: ServedProject, feed: ChangeFeed, stop: asyncio.Event) -> None:
    """Publish ``{"project", "missions"}`` for every batch of changes until ``stop``."""
    from watchfiles import awatch

    specs_dir = project.paths.specs_dir
    while not stop.is_set():
        if not specs_dir.is_dir():
            # Not created yet (a fresh project): look again shortly, write nothing.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            continue
        resolved = specs_dir.resolve()
        try:
            async for changes in awatch(resolved, watch_filter=_not_a_temp_file,
                                        debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
                                        ignore_permission_denied=True):
                missions = changed_missions(resolved, {path for _change, path in changes})
                feed.publish({"project": project.key, "missions": missions})
        except OSError as exc:  # the directory vanished or cannot be watched
            LOG.warning("watching %s failed: %s; retrying", specs_dir, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)


def sse_message(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def event_stream(feed: ChangeFeed, hello: dict[str, Any]) -> AsyncIterator[str]:
    """The body of one ``/api/stream`` response."""
    queue = feed.subscribe()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield sse_message("hello", hello)
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if message is _CLOSED:
                return
            yield sse_message("change", message)
    finally:
        feed.unsubscribe(queue)
