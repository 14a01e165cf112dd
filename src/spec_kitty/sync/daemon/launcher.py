"""Starting, replacing and stopping the daemon from a foreground process.

Spawning is serialised by ``<runtime>/sync/daemon/spawn.lock``; the singleton itself is
guaranteed by the daemon's own exclusive ``daemon.lock`` (a second daemon exits at once),
so a race between spawners can at worst start a process that leaves immediately. The
child runs ``python -m spec_kitty.sync.daemon --root <runtime>`` in a new session with
stdin closed and stdout/stderr appended to ``daemon.log``.

A newer CLI replaces an older daemon: it asks it to shut down (it finishes its drain
first), waits until the process is confirmed gone (PID and start time), and starts its
own. Only a process whose PID *and* start time still match is ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from spec_kitty.hosted.runtime import PRIVATE_FILE_MODE, RuntimePaths, ensure_private_dir
from spec_kitty.sync.daemon import client, owner
from spec_kitty.sync.daemon.owner import OwnerRecord, daemon_dir, process_gone

START_TIMEOUT = 20.0  # seconds a waiting `start` allows the child to become healthy
STOP_TIMEOUT = 30.0  # seconds a daemon gets to finish its drain after a shutdown request
REPLACE_LOCK_WAIT = 60.0  # a successor spawned without waiting queues for the lock


def lock_file(paths: RuntimePaths) -> Path:
    """``daemon.lock``: held exclusively by the running daemon for its whole life."""
    return daemon_dir(paths) / "daemon.lock"


def spawn_lock_file(paths: RuntimePaths) -> Path:
    return daemon_dir(paths) / "spawn.lock"


def identity_proven(record: OwnerRecord) -> bool:
    """Both markers match: the PID is alive *and* has the recorded start time. Without
    a recorded start time (no ``/proc`` on this platform) the PID alone proves nothing:
    it may have been reused, so the process is never signalled."""
    return (record.process_start is not None
            and owner.process_start_ticks(record.pid) == record.process_start)


def live_record(paths: RuntimePaths) -> OwnerRecord | None:
    """The owner record if its process is alive (both markers); a stale one is removed."""
    try:
        record = owner.read(paths)
    except owner.OwnerRecordError:
        return None
    if record is None:
        return None
    if process_gone(record.pid, record.process_start):
        owner.remove_orphan(paths)
        return None
    return record


@dataclass
class Spawned:
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def reap_in_background(self) -> None:
        """Collect the child's exit status when it ends (no zombie in a long-lived parent)."""
        threading.Thread(target=self.process.wait, daemon=True).start()


def spawn(paths: RuntimePaths, *, lock_wait: float = 0.5) -> Spawned:
    """Start a detached daemon process for ``paths``; does not wait for it."""
    from spec_kitty.sync.daemon.logs import log_file

    directory = ensure_private_dir(daemon_dir(paths))
    fd = os.open(log_file(paths), os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "spec_kitty.sync.daemon", "--root",
             str(paths.root.absolute()), "--lock-wait", str(lock_wait)],
            stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT, close_fds=True,
            start_new_session=True, cwd=directory)
    finally:
        os.close(fd)
    return Spawned(process)


def wait_healthy(paths: RuntimePaths, spawned: Spawned,
                 timeout: float = START_TIMEOUT) -> OwnerRecord | None:
    """Wait until a live daemon (ours, or one that won the lock) answers its health check.

    Returns its record, or None when our child failed (non-zero exit) or time ran out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = live_record(paths)
        if record is not None:
            try:
                client.health(record.port, timeout=2.0)
                return record
            except client.DaemonUnreachable:
                pass
        code = spawned.process.poll()
        if code not in (None, 0):
            return None
        time.sleep(0.02)
    return None


def stop(paths: RuntimePaths, record: OwnerRecord, timeout: float = STOP_TIMEOUT, *,
         unresponsive: bool = False) -> bool:
    """Ask the daemon to exit and wait for its confirmed exit; True when it is gone.

    After ``timeout`` seconds a daemon that still matches both identity markers is
    killed (the drain is crash-safe: a repeated batch is answered ``duplicate``); one
    that does not answer the shutdown request at all (hung) only gets
    ``UNANSWERED_STOP_GRACE`` seconds. ``unresponsive``: the caller already saw it fail
    its health check, so no request is sent (it would only time out).
    """
    from spec_kitty.sync.daemon.settings import HEALTH_TIMEOUT, UNANSWERED_STOP_GRACE

    answered = False
    if not unresponsive:
        with contextlib.suppress(client.DaemonUnreachable):
            answered = client.shutdown(paths, record.port, timeout=HEALTH_TIMEOUT)
    if _wait_gone(record, timeout if answered else min(timeout, UNANSWERED_STOP_GRACE)):
        owner.remove_orphan(paths)
        return True
    if not process_gone(record.pid, record.process_start):
        if not identity_proven(record):
            return False  # never kill a process we cannot prove is the daemon
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGKILL)
    gone = _wait_gone(record, 10.0)
    if gone:
        owner.remove_orphan(paths)
    return gone


def _wait_gone(record: OwnerRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not process_gone(record.pid, record.process_start):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
