"""``spec-kitty-hub serve`` and ``spec-kitty-hub migrate``."""

from __future__ import annotations

import errno
import inspect
import os
import signal
import socket
import sys
from typing import Annotated, Any

import typer

from spec_kitty_hub.cli.common import DatabaseOption, JsonOption, emit, run
from spec_kitty_hub.config import DATABASE_ENV, PUBLIC_URL_ENV, load_settings, redact_url
from spec_kitty_hub.errors import HubError


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket. ``proto`` is spelled out because asyncio only sets
    TCP_NODELAY on accepted sockets whose proto is IPPROTO_TCP; without it every
    keep-alive response waits for the client's delayed ACK (~40 ms)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    return listener


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def migrate(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Create or upgrade the database schema (idempotent; run after every upgrade)."""
    from spec_kitty_hub.db import migrate as migrations
    from spec_kitty_hub.db.engine import Database

    def action() -> None:
        settings = load_settings(database)
        db = Database(settings.database_url)
        before, after = migrations.upgrade(db.engine)
        db.dispose()
        emit({"database": redact_url(settings.database_url), "from": before, "to": after},
             f"{redact_url(settings.database_url)}: schema {before or 'empty'} -> {after}",
             as_json)

    run(as_json, action)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).", min=0,
                                      max=65535)] = 8765,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    database: DatabaseOption = None,
    public_url: Annotated[str | None, typer.Option(
        "--public-url", help="External base URL behind a reverse proxy.")] = None,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        "--forwarded-allow-ips", help="Proxies trusted for X-Forwarded-* (comma list).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the hub (SQLite databases are migrated first; PostgreSQL must be current)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from spec_kitty_hub.cli.common import open_database

    sock: list[socket.socket] = []

    def prepare() -> None:
        settings, db = open_database(database)
        db.dispose()
        # Workers are separate processes: they read the same settings from the environment.
        os.environ[DATABASE_ENV] = settings.database_url
        if settings.public_url:
            os.environ[PUBLIC_URL_ENV] = settings.public_url
        try:
            sock.append(_listen(host, port))
        except OSError as error:
            busy = error.errno == errno.EADDRINUSE
            advice = " Is a hub already running there?" if busy else ""
            raise HubError(f"Cannot listen on {host}:{port}: {error.strerror}.{advice} "
                           "`--port N` picks another port (`--port 0`: any free one).",
                           "ADDRESS_IN_USE") from None
        bound = sock[0].getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(f"spec-kitty-hub listening on http://{shown}:{bound} "
              f"(database {redact_url(settings.database_url)}, {workers} worker(s))",
              flush=True)

    run(False, prepare)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal for the
    # handler it found: exit 0 then, with atexit hooks run, instead of dying by signal.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    config = uvicorn.Config("spec_kitty_hub.api.app:create_app", factory=True,
                            workers=workers, log_level=log_level, proxy_headers=True,
                            forwarded_allow_ips=forwarded_allow_ips, server_header=False,
                            # Open live streams (team view) must not hold a shutdown.
                            timeout_graceful_shutdown=5)
    if workers == 1:
        uvicorn.Server(config).run(sockets=sock)
    else:
        # uvicorn < 0.36 takes the worker's target explicitly; later releases build it.
        extra: dict[str, Any] = {}
        if "target" in inspect.signature(Multiprocess).parameters:
            extra["target"] = uvicorn.Server(config).run
        Multiprocess(config, sockets=sock, **extra).run()
    sys.exit(0)
