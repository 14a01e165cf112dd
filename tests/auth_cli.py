"""Drive `spec-kitty auth` against a running hub the way a person would."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from helpers import CLI, parse_one_json, run_cli

ON = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}


def hub_env(hub: Any) -> dict[str, str]:
    return {**ON, "SPEC_KITTY_SAAS_URL": hub.url}


def sk_auth(hub: Any, cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = run_cli(["auth", *args, "--json"], cwd, env=hub_env(hub))
    return proc.returncode, parse_one_json(proc.stdout)


def start_login(hub: Any, cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(CLI), "auth", "login", *args, "--json"], cwd=cwd,
                            env={**os.environ, **hub_env(hub)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_prompt(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> str:
    """The first stderr line containing ``marker`` (the CLI waits after printing it)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"login ended before {marker!r}: {''.join(seen)}")
        seen.append(line)
        if marker in line:
            return line
    raise AssertionError(f"no {marker!r} within {timeout} s")


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, dict[str, Any]]:
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    return proc.returncode, json.loads(out) if out.strip() else {}


def headless_login(hub: Any, cwd: Path, email: str, *, via_admin: bool = False
                   ) -> dict[str, Any]:
    """`auth login --headless`, approved on the hub; returns the CLI's JSON answer."""
    proc = start_login(hub, cwd, "--headless")
    line = read_prompt(proc, "enter the code:")
    user_code = line.rsplit(":", 1)[1].strip()
    if via_admin:
        hub.admin("device", "approve", user_code, "--user", email)
    else:
        hub.approve_device(user_code, email)
    code, answer = finish(proc)
    assert code == 0, answer
    return answer


def login_new_user(hub: Any, cwd: Path) -> tuple[Any, Any, Any]:
    """A new hub user logged in with `auth login --headless`: (user, store, session)."""
    from auth_helpers import current_store

    user = hub.create_user()
    headless_login(hub, cwd, user.email)
    store = current_store()
    session = store.load()
    assert session is not None
    return user, store, session
