"""The daemon process: ``python -m spec_kitty.sync.daemon --root <runtime>``.

Start-up order: log, rollout gate, the exclusive ``daemon.lock`` (another daemon holds
it → exit 0 at once, or after ``--lock-wait`` seconds when replacing one), the login's
scope, reap a stale owner record (only when its PID and start time prove the process
gone), bind the first free port of 127.0.0.1:9400-9449, write the control token (0600),
write the owner record atomically, *then* serve. At exit (retired, shutdown request,
SIGTERM/SIGINT/SIGHUP) it stops serving, removes its owner record and token, and
releases the lock. Exit codes: 0 stopped or not needed, 1 cannot run (see the log).
"""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path
from types import FrameType

from spec_kitty.hosted.runtime import PRIVATE_FILE_MODE, RuntimePaths, ensure_private_dir
from spec_kitty.sync.daemon import client, logs, owner, settings
from spec_kitty.sync.daemon.owner import daemon_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec_kitty.sync.daemon")
    parser.add_argument("--root", type=Path, default=None, help="the runtime root")
    parser.add_argument("--lock-wait", type=float, default=0.5,
                        help="seconds to wait for the daemon lock")
    args = parser.parse_args(argv)
    paths = RuntimePaths(args.root) if args.root else RuntimePaths.current()
    ensure_private_dir(daemon_dir(paths))
    secrets: list[str] = []
    log = logs.setup(paths, secrets)
    from spec_kitty.hosted import gate

    if not gate.is_enabled():
        log.error("the rollout gate (SPEC_KITTY_ENABLE_SAAS_SYNC) is off; not running")
        return 1
    from filelock import FileLock, Timeout

    from spec_kitty.sync.daemon.launcher import lock_file

    lock = FileLock(str(lock_file(paths)), timeout=max(0.0, args.lock_wait),
                    mode=PRIVATE_FILE_MODE)
    try:
        lock.acquire()
    except Timeout:
        log.info("another daemon holds %s; exiting", lock_file(paths))
        return 0
    try:
        return _run(paths, log, secrets)
    except Exception:
        log.exception("the daemon failed")
        return 1
    finally:
        lock.release()


def _run(paths: RuntimePaths, log: logging.Logger, secrets: list[str]) -> int:
    from spec_kitty.sync.daemon import server as api
    from spec_kitty.sync.daemon.service import SyncService
    from spec_kitty.sync.scope import current_scope

    scope = current_scope(paths)
    if scope is None:
        log.error("nobody is logged in; not running")
        return 1
    stale = owner.remove_orphan(paths)
    if stale is not None:
        log.info("removed the stale owner record of pid %d (process gone)", stale.pid)
    token = client.new_token(paths)
    secrets.append(token)
    service = SyncService(paths, scope.key,
                          interval=settings.seconds(settings.INTERVAL_ENV,
                                                    settings.DEFAULT_INTERVAL),
                          idle_timeout=settings.seconds(settings.IDLE_ENV,
                                                        settings.DEFAULT_IDLE_TIMEOUT))
    http = api.bind(token, service.health, service.trigger,
                    lambda: service.stop("shutdown requested"))
    service.port = http.server_port
    record = owner.new_record(port=http.server_port, server_url=scope.server_url,
                              user=scope.user, team_slug=scope.team_slug,
                              auth_scope=scope.key, queue_path=str(scope.queue_path(paths)))
    owner.write(paths, record)  # before the first request is accepted

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        service.stop(f"signal {signal.Signals(signum).name}")

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    api.serve_in_thread(http)
    log.info("serving on 127.0.0.1:%d (version %s, queue %s)", http.server_port,
             record.package_version, record.queue_path)
    reason = "stopped"
    try:
        reason = service.run()
    finally:
        http.shutdown()
        http.server_close()
        owner.remove_if_owner(paths)
        client.remove_token(paths, token)
        log.info("exiting: %s", reason)
    return 0
