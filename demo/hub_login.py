"""The demo's team hub: a local hub on loopback (SQLite), a user, a headless login.

What an operator and a user would type: `spec-kitty-hub serve` on 127.0.0.1 with an
embedded SQLite file, `spec-kitty-hub user add` (password on stdin), then in the project
`spec-kitty auth login --headless` with the rollout gate on; the code it prints is
approved with `spec-kitty-hub device approve CODE --user EMAIL` (a headless machine's
way), and `spec-kitty auth status` shows who is logged in. The hub is stopped on exit
unless KEEP_HUB=1.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

BIN = Path(sys.executable).parent
HUB = str(BIN / "spec-kitty-hub")
CLI = str(BIN / "spec-kitty")
EMAIL = "demo@example.com"
START_TIMEOUT_SECONDS = 120


class DemoHub:
    """``spec-kitty-hub serve --port 0`` on 127.0.0.1 with its SQLite file under ``base``."""

    def __init__(self, base: Path) -> None:
        self.directory = base / "hub"
        self.database = f"sqlite:///{self.directory / 'hub.sqlite3'}"
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DemoHub:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "hub.log"
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                [HUB, "serve", "--host", "127.0.0.1", "--port", "0", "--database",
                 self.database, "--log-level", "warning"],
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._healthy():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise SystemExit(f"the hub did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        return self

    def _healthy(self) -> bool:
        if not self.url:
            first = (self.directory / "hub.log").read_text(errors="replace")
            if not first.startswith("spec-kitty-hub listening on "):
                return False
            self.url = first.split()[3]
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def admin(self, *args: str, stdin: str | None = None) -> str:
        shown = " ".join(shlex.quote(a) for a in args)
        print(f"$ spec-kitty-hub {shown}")
        proc = subprocess.run([HUB, *args, "--database", self.database], input=stdin,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"spec-kitty-hub {shown} failed: {proc.stdout}{proc.stderr}")
        print(proc.stdout.rstrip())
        return proc.stdout

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        if os.environ.get("KEEP_HUB") == "1" and exc_type is None:
            print(f"The hub keeps running at {self.url} (pid {self._process.pid}); stop it "
                  f"with: kill {self._process.pid}")
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def log_in(hub: DemoHub, project: Path, env: dict[str, str]) -> dict[str, str]:
    """Create the demo user, log ``project`` in with the device flow approved by the
    operator command, print ``auth status``; returns the environment hosted commands
    need (gate on, hub URL)."""
    hosted = {**env, "SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": hub.url}
    hub.admin("user", "add", EMAIL, "--name", "Demo User", stdin="demo password 1\n")
    print("$ spec-kitty auth login --headless")
    login = subprocess.Popen([CLI, "auth", "login", "--headless"], cwd=project, env=hosted,
                             text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert login.stderr is not None
    user_code = ""
    for line in login.stderr:
        print(line.rstrip())
        if "enter the code:" in line:
            user_code = line.rsplit(":", 1)[1].strip()
            break
    if not user_code:
        login.kill()
        raise SystemExit(f"auth login printed no code: {login.communicate()}")
    hub.admin("device", "approve", user_code, "--user", EMAIL)
    out, err = login.communicate(timeout=120)
    print(out.rstrip())
    if login.returncode != 0:
        raise SystemExit(f"auth login failed (exit {login.returncode}): {err}")
    print("$ spec-kitty auth status")
    status = subprocess.run([CLI, "auth", "status"], cwd=project, env=hosted,
                            capture_output=True, text=True)
    print(status.stdout.rstrip())
    if status.returncode != 0:
        raise SystemExit(f"auth status failed: {status.stdout}{status.stderr}")
    return hosted
