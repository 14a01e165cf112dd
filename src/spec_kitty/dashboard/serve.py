"""The dashboard server process: ``python -m spec_kitty.dashboard.serve --fd N --project DIR``.

Started by :mod:`spec_kitty.dashboard.launcher`, which binds the socket on
127.0.0.1 and passes it down as ``--fd`` and the token in the environment.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from spec_kitty.dashboard.api import create_app
from spec_kitty.dashboard.lifecycle import TOKEN_ENV
from spec_kitty.dashboard.live import ChangeFeed
from spec_kitty.dashboard.projects import ServedProject, served_projects

GRACEFUL_SHUTDOWN_SECONDS = 2


class DashboardServer(uvicorn.Server):
    """uvicorn, plus: end the open event streams first, or shutdown waits on them."""

    def __init__(self, config: uvicorn.Config, feed: ChangeFeed) -> None:
        super().__init__(config)
        self.feed = feed

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.feed.close_threadsafe()
        super().handle_exit(sig, frame)

    def request_exit(self) -> None:
        self.feed.close()
        self.should_exit = True


def build_server(projects: list[ServedProject], token: str, *,
                 watch: bool = True, **config: Any) -> DashboardServer:
    """A ready-to-run server; the benchmark runs one in a thread the same way."""
    server: DashboardServer | None = None

    def request_shutdown() -> None:
        assert server is not None
        server.request_exit()

    app = create_app(projects, token=token, watch=watch, request_shutdown=request_shutdown)
    settings: dict[str, Any] = {
        "log_level": "warning", "access_log": False, "lifespan": "on", "http": "h11",
        "ws": "none", "loop": "asyncio", "server_header": False, "proxy_headers": False,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
    settings.update(config)
    server = DashboardServer(uvicorn.Config(app, **settings), app.state.dashboard.feed)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec_kitty.dashboard.serve")
    parser.add_argument("--fd", type=int, required=True,
                        help="a socket already listening on 127.0.0.1")
    parser.add_argument("--project", action="append", required=True,
                        help="project root to serve (repeatable; the first is the default)")
    args = parser.parse_args(argv)
    token = os.environ.pop(TOKEN_ENV, "")
    if not token:
        sys.stderr.write(f"{TOKEN_ENV} is not set; refusing to serve without a token.\n")
        return 2
    listener = socket.socket(fileno=args.fd)
    host, _port = listener.getsockname()[:2]
    if host != "127.0.0.1":
        sys.stderr.write(f"refusing to serve on {host}: the dashboard is local only.\n")
        return 2
    server = build_server(served_projects([Path(p) for p in args.project]), token)
    server.run(sockets=[listener])
    return 0


if __name__ == "__main__":
    sys.exit(main())
