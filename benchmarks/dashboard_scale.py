"""Dashboard reads at scale.

- `GET /api/missions` over 400 missions x 60 events, served by uvicorn on 127.0.0.1
  in this process (budget: median <= 0.2 s per request after warm-up)
"""

from __future__ import annotations

import random
import secrets
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from spec_kitty.dashboard.projects import served_projects
from spec_kitty.dashboard.serve import build_server

from _common import report
from _generate import make_mission, make_project

MISSIONS = 400
EVENTS = 60
RUNS = 20
WARMUP = 3


def _fetch(opener: urllib.request.OpenerDirector, url: str) -> float:
    start = time.perf_counter()
    with opener.open(url, timeout=30) as response:
        body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200 or b'"missions"' not in body:
        raise SystemExit(f"GET {url} answered {response.status}")
    return elapsed


def main() -> int:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="sk-bench-") as tmp:
        root = make_project(Path(tmp) / "many")
        for index in range(MISSIONS):
            make_mission(root, index, wp_count=5, event_count=EVENTS, rng=rng)
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        # No file watcher: this measures request handling, not change delivery.
        server = build_server(served_projects([root]), secrets.token_hex(16), watch=False)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]},
                                  daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}/api/missions"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            print("== dashboard at scale")
            first = _fetch(opener, url)
            print(f"{'first GET /api/missions (cold: every log parsed)':48} {first:.4f}s")
            for _ in range(WARMUP):
                _fetch(opener, url)
            samples = [_fetch(opener, url) for _ in range(RUNS)]
            ok = report(f"GET /api/missions ({MISSIONS} missions x {EVENTS} events)",
                        samples, budget=0.2)
            written = [p for p in (root / "kitty-specs").rglob("status.json")]
            if written:
                print(f"serving wrote {len(written)} status.json file(s): not read-only")
                ok = False
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
