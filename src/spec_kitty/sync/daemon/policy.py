"""Whether a command may start the background daemon: intent, policy, gate, login.

``ensure_sync_daemon_running(intent)`` applies these rules, first match wins:

1. ``SPEC_KITTY_SYNC_DISABLE`` truthy → ``"SPEC_KITTY_SYNC_DISABLE is set"``
2. rollout gate off → ``"rollout_disabled"``
3. ``DaemonIntent.LOCAL_ONLY`` → ``"intent_local_only"``
4. nobody logged in → ``"not_logged_in"``
5. ``[sync] background_daemon = "manual"`` (unless the user asked explicitly) →
   ``"policy_manual"``
6. a live daemon of this or a newer version → reused (``started`` False, its ``pid``),
   unless it does not answer its health check within 2 s → ``"unresponsive"`` (its
   ``pid``; ``sync daemon stop`` or ``sync doctor`` deal with it)
7. otherwise start one (replacing an older version) → ``started`` True, or
   ``"start_failed: …"``

Skipping never spawns a process, opens a socket or creates a file. Only event upload,
tracker sync and the dashboard's "sync now" declare ``REMOTE_REQUIRED``.

Policy: ``[sync] background_daemon`` in ``<runtime>/config.toml``, ``"auto"`` (default)
or ``"manual"``, case-insensitive. Another value warns and means auto; an empty string
is an error (:class:`~spec_kitty.hosted.config.UserConfigError` naming file and key).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import settings

if TYPE_CHECKING:
    from spec_kitty.sync.daemon.owner import OwnerRecord

POLICY_KEY = "background_daemon"
DISABLED_REASON = f"{settings.DISABLE_ENV} is set"


class DaemonIntent(StrEnum):
    LOCAL_ONLY = "local_only"
    REMOTE_REQUIRED = "remote_required"


class BackgroundDaemonPolicy(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


@dataclass(frozen=True)
class DaemonStartResult:
    """``started``: this call spawned it; ``pid``: the daemon now running (or None);
    ``skipped_reason``: why nothing runs (None when one does); ``message``: for people;
    ``warning``: a policy value that was not understood."""

    started: bool
    skipped_reason: str | None
    pid: int | None
    message: str = ""
    warning: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_policy(paths: RuntimePaths) -> tuple[BackgroundDaemonPolicy, str | None]:
    """The configured policy and a warning for an unknown value (then ``AUTO``).

    Raises :class:`~spec_kitty.hosted.config.UserConfigError` for an empty value or an
    unreadable file.
    """
    if not paths.config_file.exists():
        return BackgroundDaemonPolicy.AUTO, None
    from spec_kitty.hosted.config import UserConfigError, get_setting, read_user_config

    path = paths.config_file
    value = get_setting(read_user_config(paths), "sync", POLICY_KEY, path)
    if value is None:
        return BackgroundDaemonPolicy.AUTO, None
    if isinstance(value, str) and not value.strip():
        raise UserConfigError(path, f'sync.{POLICY_KEY} is empty; use "auto" or "manual"',
                              key=f"sync.{POLICY_KEY}")
    text = value.strip().lower() if isinstance(value, str) else None
    if text in (BackgroundDaemonPolicy.AUTO, BackgroundDaemonPolicy.MANUAL):
        return BackgroundDaemonPolicy(text), None
    return BackgroundDaemonPolicy.AUTO, (f'{path}: sync.{POLICY_KEY} = {value!r} is not '
                                         '"auto" or "manual"; using "auto"')


def _skip(reason: str, message: str, warning: str | None = None) -> DaemonStartResult:
    return DaemonStartResult(False, reason, None, message, warning)


def ensure_sync_daemon_running(intent: DaemonIntent, *, paths: RuntimePaths | None = None,
                               environ: Mapping[str, str] | None = None,
                               wait: bool = False,
                               explicit: bool = False) -> DaemonStartResult:
    """Apply the rules of the module docstring; start the daemon when they allow it.

    ``wait``: block until the daemon answers its health check (``sync daemon start``);
    otherwise return right after spawning. ``explicit``: the user asked for it, so the
    manual policy does not apply. Raises ``UserConfigError`` for an empty policy value
    and session-file errors; everything about the process itself ends up in the result.
    """
    from spec_kitty.hosted import gate

    if settings.disabled(environ):
        return _skip(DISABLED_REASON, f"Not started: {DISABLED_REASON}.")
    if not gate.is_enabled(environ):
        return _skip("rollout_disabled", gate.OFF_MESSAGE)
    if intent is DaemonIntent.LOCAL_ONLY:
        return _skip("intent_local_only", "Not started: this command works locally only.")
    paths = paths or RuntimePaths.current(environ)
    from spec_kitty.sync.scope import current_scope

    if current_scope(paths) is None:
        return _skip("not_logged_in", "Not started: nobody is logged in (run `spec-kitty "
                     "auth login`).")
    policy, warning = read_policy(paths)
    if policy is BackgroundDaemonPolicy.MANUAL and not explicit:
        return _skip("policy_manual", f'Not started: background_daemon = "manual" in '
                     f"{paths.config_file}; start it with `spec-kitty sync daemon start` "
                     "or run `spec-kitty sync now`.", warning)
    return _start(paths, wait=wait, warning=warning)


def _reuse(record: OwnerRecord, warning: str | None) -> DaemonStartResult:
    """The live daemon of this or a newer version, if it answers its health check."""
    from spec_kitty.sync.daemon import client

    try:
        client.health(record.port, timeout=settings.HEALTH_TIMEOUT)
    except client.DaemonUnreachable:
        return DaemonStartResult(False, "unresponsive", record.pid, f"The daemon (pid "
                                 f"{record.pid}) is alive but does not answer its health "
                                 "check; run `spec-kitty sync daemon stop` (it is killed "
                                 "if it stays silent) or `spec-kitty sync doctor`.",
                                 warning)
    return DaemonStartResult(False, None, record.pid, f"Already running (pid {record.pid}, "
                             f"port {record.port}).", warning)


def _start(paths: RuntimePaths, *, wait: bool, warning: str | None) -> DaemonStartResult:
    from filelock import FileLock, Timeout

    from spec_kitty import __version__
    from spec_kitty.hosted.runtime import PRIVATE_FILE_MODE, ensure_private_dir
    from spec_kitty.sync.daemon import launcher
    from spec_kitty.sync.daemon.owner import daemon_dir

    ensure_private_dir(daemon_dir(paths))
    spawn_lock = FileLock(str(launcher.spawn_lock_file(paths)),
                          timeout=launcher.START_TIMEOUT if wait else 0.2,
                          mode=PRIVATE_FILE_MODE)
    try:
        with spawn_lock:
            record = launcher.live_record(paths)
            lock_wait = 0.5
            if record is not None:
                if not settings.is_older(record.package_version, __version__):
                    return _reuse(record, warning)
                if wait:
                    if not launcher.stop(paths, record):
                        return _skip("start_failed: the older daemon (pid "
                                     f"{record.pid}) did not exit", "Could not replace the "
                                     "older daemon.", warning)
                else:  # ask it to leave; the successor queues for the lock meanwhile
                    from spec_kitty.sync.daemon import client

                    with contextlib.suppress(client.DaemonUnreachable):
                        client.shutdown(paths, record.port, timeout=0.5)
                    lock_wait = launcher.REPLACE_LOCK_WAIT
            spawned = launcher.spawn(paths, lock_wait=lock_wait)
            if not wait:
                spawned.reap_in_background()
                return DaemonStartResult(True, None, spawned.pid, "Starting the sync daemon "
                                         f"(pid {spawned.pid}).", warning)
            running = launcher.wait_healthy(paths, spawned)
            spawned.reap_in_background()
    except Timeout:
        return _skip("start_busy", "Another process is starting the daemon.", warning)
    if running is None:
        from spec_kitty.sync.daemon.logs import log_file

        return _skip(f"start_failed: see {log_file(paths)}", "The daemon did not become "
                     f"healthy; see {log_file(paths)}.", warning)
    mine = running.pid == spawned.pid
    verb = "Started" if mine else "Already running"
    return DaemonStartResult(mine, None, running.pid,
                             f"{verb}: pid {running.pid}, port {running.port}.", warning)


def ensure_in_background(intent: DaemonIntent, *, paths: RuntimePaths | None = None,
                         environ: Mapping[str, str] | None = None
                         ) -> DaemonStartResult | None:
    """:func:`ensure_sync_daemon_running` for a command that must not fail because of the
    daemon (tracker sync): never raises, never waits; a problem or a policy warning is
    one line on stderr. Returns the result, or None when it failed."""
    try:
        result = ensure_sync_daemon_running(intent, paths=paths, environ=environ)
    except Exception as exc:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        print(f"warning: sync daemon: {message}", file=sys.stderr)
        return None
    if result.warning:
        print(f"warning: {result.warning}", file=sys.stderr)
    return result


def on_events_queued(paths: RuntimePaths, environ: Mapping[str, str] | None = None) -> None:
    """After events were queued: nudge the running daemon, or start one (rules above).

    Cheap when a daemon runs (two small file reads, one loopback request sent without
    waiting for its answer) and never raises: a problem is one line on stderr, the command goes on.
    """
    try:
        if settings.disabled(environ):
            return
        from spec_kitty import __version__
        from spec_kitty.sync.daemon import client, launcher

        record = launcher.live_record(paths)
        if record is not None and not settings.is_older(record.package_version,
                                                        __version__):
            with contextlib.suppress(client.DaemonUnreachable):
                client.nudge(paths, record.port)
            return
        result = ensure_sync_daemon_running(DaemonIntent.REMOTE_REQUIRED, paths=paths,
                                            environ=environ)
        if result.warning:
            print(f"warning: {result.warning}", file=sys.stderr)
    except Exception as exc:  # a status write never fails because of the daemon
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        print(f"warning: sync daemon: {message}", file=sys.stderr)
