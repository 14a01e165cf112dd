"""The daemon's drain loop: timer, trigger, backoff, idle and superseded retirement.

One thread runs :meth:`SyncService.run`. A pass drains the scope's queue with the same
code as ``sync now`` (:func:`spec_kitty.sync.now.run_sync`) and is never interrupted:
a shutdown request or signal only takes effect between passes. Timing (seconds):

- a pass runs at start, every ``interval`` (300) and within 0.1 s of a trigger; an
  empty queue costs no request;
- a failed pass (an exception, or the drain stopped by a whole-batch failure) is retried
  after 0.5 s, doubling up to 30 s; a trigger does not cut a backoff short;
- with no trigger and no event delivered for ``idle_timeout`` (900) it retires;
- every 2 s it checks it is still the owner (the owner record names it, the login is
  the same account) and that no newer spec-kitty was installed over it; if not, it
  retires.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import owner, settings

log = logging.getLogger("spec_kitty.sync.daemon")


def installed_version(source_checkout: str) -> str | None:
    """``__version__`` of the spec_kitty package now on disk at ``source_checkout``."""
    try:
        text = (Path(source_checkout) / "__init__.py").read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return found.group(1) if found else None


class SyncService:
    """Drains ``auth_scope``'s queue for the daemon (see the module docstring)."""

    def __init__(self, paths: RuntimePaths, auth_scope: str, *, interval: float,
                 idle_timeout: float, port: int = 0) -> None:
        self.paths, self.auth_scope, self.port = paths, auth_scope, port
        self.interval, self.idle_timeout = interval, idle_timeout
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.draining = False
        self.consecutive_failures = 0
        self.triggers = 0
        self.last_drain: dict[str, Any] | None = None
        self.last_work = time.monotonic()
        self.stop_reason: str | None = None
        self._wake = threading.Event()
        self._triggered = threading.Event()
        self._stop = threading.Event()

    # -- called from the API threads ------------------------------------------------
    def trigger(self) -> None:
        self.triggers += 1
        self.last_work = time.monotonic()
        self._triggered.set()
        self._wake.set()

    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()
        self._wake.set()

    def health(self) -> dict[str, Any]:
        from spec_kitty import __version__

        return {"status": "ok", "daemon_family": "spec-kitty-sync",
                "protocol_version": settings.PROTOCOL_VERSION, "pid": os.getpid(),
                "port": self.port, "package_version": __version__,
                "started_at": self.started_at, "queue_depth": self._depth(),
                "draining": self.draining, "consecutive_failures": self.consecutive_failures,
                "triggers": self.triggers, "last_drain": self.last_drain,
                "stopping": self._stop.is_set()}

    # -- the loop -------------------------------------------------------------------
    def _depth(self) -> int | None:
        from spec_kitty.sync.emitter import open_queue
        from spec_kitty.sync.scope import current_scope

        try:
            scope = current_scope(self.paths)
            if scope is None:
                return None
            with open_queue(scope, self.paths) as queue:
                return queue.depth()
        except Exception:
            return None

    def _superseded(self) -> str | None:
        from spec_kitty import __version__
        from spec_kitty.sync.scope import current_scope

        try:
            record = owner.read(self.paths)
        except owner.OwnerRecordError:
            record = None
        if record is None or record.pid != os.getpid():
            return "superseded: the owner record no longer names this process"
        on_disk = installed_version(record.source_checkout)
        if on_disk is not None and settings.is_older(__version__, on_disk):
            return f"superseded: spec-kitty {on_disk} was installed"
        try:
            scope = current_scope(self.paths)
        except Exception as exc:
            return f"session unreadable: {exc}"
        if scope is None:
            return "logged out"
        if scope.key != self.auth_scope:
            return "the login changed to another account, team or hub"
        return None

    def _pass(self) -> bool:
        """One drain pass; True unless it failed (then the caller backs off)."""
        depth = self._depth()
        if depth == 0:
            return True
        from spec_kitty.sync.now import run_sync

        self.draining = True
        started = time.monotonic()
        try:
            summary = run_sync(self.paths)
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            log.warning("drain failed: %s", message)
            self.last_drain = {"at": _now(), "ok": False, "error": message}
            return False
        finally:
            self.draining = False
        if summary.synced or summary.duplicates:
            self.last_work = time.monotonic()
        blocker = summary.blocker.category if summary.blocker else None
        self.last_drain = {"at": _now(), "ok": blocker is None, "synced": summary.synced,
                           "duplicates": summary.duplicates, "failed": summary.failed,
                           "pending": summary.pending, "blocker": blocker}
        log.info("drained in %.3fs: synced=%d duplicates=%d failed=%d pending=%d blocker=%s",
                 time.monotonic() - started, summary.synced, summary.duplicates,
                 summary.failed, summary.pending, blocker)
        return blocker is None

    def run(self) -> str:
        """Loop until retired or stopped; returns why it stopped."""
        due = True  # one pass at start: events may have waited for a daemon
        now = time.monotonic()
        next_timer, backoff_until, next_check = now + self.interval, 0.0, now
        while not self._stop.is_set():
            now = time.monotonic()
            if (due or now >= next_timer) and now >= backoff_until:
                due = False
                ok = self._pass()
                now = time.monotonic()
                next_timer = now + self.interval
                if ok:
                    self.consecutive_failures, backoff_until = 0, 0.0
                else:
                    self.consecutive_failures += 1
                    backoff_until = now + settings.backoff_delay(
                        self.consecutive_failures)
                    due = True
                continue
            if now >= next_check:
                reason = self._superseded()
                if reason is not None:
                    self.stop(reason)
                    break
                next_check = now + settings.SUPERSEDE_CHECK
            if now - self.last_work >= self.idle_timeout:
                self.stop(f"idle for {self.idle_timeout:g}s")
                break
            until = backoff_until if due else next_timer
            deadline = min(until, next_check, self.last_work + self.idle_timeout)
            self._wake.wait(max(0.0, deadline - now))
            self._wake.clear()
            if self._triggered.is_set():
                self._triggered.clear()
                due = True
        return self.stop_reason or "stopped"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
