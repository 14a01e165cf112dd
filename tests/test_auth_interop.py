"""Interop: the published Spec Kitty CLI (`spec-kitty-cli==3.2.7` from PyPI) logs in to
our hub with `auth login --headless` and `auth status` shows the right user and teams.

The client is installed by this test into its own virtualenv under the system temp dir
(kept between runs, rebuilt when broken); it is not a project dependency. A recording
proxy between it and the hub pins down what it sends: the contract we serve.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from recording_proxy import RecordingProxy

VERSION = "3.2.7"
CACHE = Path(tempfile.gettempdir()) / "spec-kitty-test-cache" / f"spec-kitty-cli-{VERSION}"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _works(cli: Path) -> bool:
    try:
        proc = subprocess.run([str(cli), "--version"], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and VERSION in proc.stdout


@pytest.fixture(scope="session")
def published_cli() -> Path:
    """`spec-kitty` of spec-kitty-cli 3.2.7 in its own venv (installed once)."""
    cli = CACHE / "bin" / "spec-kitty"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE) + ".lock", timeout=900):
        if not _works(cli):
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(CACHE)], check=True)
            install = subprocess.run(
                [str(CACHE / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", f"spec-kitty-cli=={VERSION}"],
                capture_output=True, text=True, timeout=900)
            assert install.returncode == 0, install.stdout + install.stderr
            assert _works(cli), "the published CLI does not start"
    return cli


def _their_env(home: Path, hub_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SPEC_KITTY_", "COV_", "COVERAGE_"))}
    return {**env, "HOME": str(home), "SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
            "SPEC_KITTY_SAAS_URL": hub_url, "NO_COLOR": "1", "COLUMNS": "200"}


def _read_code(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip().startswith("Code:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no device code printed:\n" + "".join(lines))


@pytest.mark.slow
def test_published_cli_logs_in_headless_and_shows_user_and_teams(
        published_cli: Path, sqlite_hub: Any, tmp_path: Path) -> None:
    hub = sqlite_hub
    user = hub.create_user(name="Linus Example")
    shared = hub.create_team(name="Shared Crew", members=(user.email,))
    home = tmp_path / "their-home"
    home.mkdir()
    with RecordingProxy(hub.url) as proxy:
        env = _their_env(home, proxy.url)
        proc = subprocess.Popen([str(published_cli), "auth", "login", "--headless"],
                                cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        user_code = _read_code(proc)
        hub.admin("device", "approve", user_code, "--user", user.email)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        status = subprocess.run([str(published_cli), "auth", "status"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    text = " ".join(status.stdout.split())
    for expected in (user.email, "Linus Example", user.private_team, shared, "(owner)",
                     "(member)", "default", "Encrypted session file",
                     "Headless (Device Authorization Grant)"):
        assert expected in text, f"{expected!r} missing from:\n{status.stdout}"
    default_line = next(line for line in status.stdout.splitlines() if "default" in line)
    assert user.private_team in default_line and shared not in default_line

    calls = [(seen.method, seen.path) for seen in proxy.seen]
    assert calls[0] == ("POST", "/oauth/device")
    assert calls[-1] == ("GET", "/api/v1/me")
    assert set(calls) == {("POST", "/oauth/device"), ("POST", "/oauth/token"),
                          ("GET", "/api/v1/me")}, calls
    device, me = proxy.seen[0], proxy.seen[-1]
    assert device.content_type.startswith("application/x-www-form-urlencoded")
    assert device.fields == {"client_id": "cli_native", "scope": "offline_access"}
    for poll in (s for s in proxy.seen if s.path == "/oauth/token"):
        assert poll.content_type.startswith("application/x-www-form-urlencoded")
        assert poll.fields == {"grant_type": DEVICE_GRANT, "device_code": "<redacted>",
                               "client_id": "cli_native"}
    assert [s.status for s in proxy.seen if s.path == "/oauth/token"][-1] == 200
    assert me.auth_scheme == "Bearer" and me.status == 200
    _share_the_session(published_cli, hub, home, tmp_path, user)


def _share_the_session(published_cli: Path, hub: Any, home: Path, cwd: Path,
                       user: Any) -> None:
    """Both CLIs use one session file: ours reads theirs, refreshes it, and theirs
    still reads ours; a logout by ours logs both out."""
    import json

    from spec_kitty.auth.session import utc_now
    from spec_kitty.auth.storage import SessionStore
    from spec_kitty.hosted.runtime import RuntimePaths

    runtime = home / ".spec-kitty"
    ours = {"SPEC_KITTY_HOME": str(runtime), "SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
            "SPEC_KITTY_SAAS_URL": hub.url}
    theirs = _their_env(home, hub.url)

    def our(*args: str) -> tuple[int, dict[str, Any]]:
        proc = subprocess.run([str(Path(sys.executable).parent / "spec-kitty"), "auth", *args,
                               "--json"], cwd=cwd, env={**os.environ, **ours},
                              capture_output=True, text=True, timeout=120)
        return proc.returncode, json.loads(proc.stdout)

    def their_status() -> str:
        proc = subprocess.run([str(published_cli), "auth", "status"], cwd=cwd, env=theirs,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return " ".join(proc.stdout.split())

    code, status = our("status")
    assert code == 0 and status["logged_in"] and status["email"] == user.email
    assert status["server_url"] == hub.url and status["auth_method"] == "device_code"
    assert status["session_id"] in their_status()
    store = SessionStore(RuntimePaths(runtime))
    with store.lock():  # make our next request refresh the shared session
        stale = store.load()
        assert stale is not None
        store.save(dataclasses.replace(stale, access_expires_at=utc_now()))
    code, doctor = our("doctor")
    assert code == 0 and doctor["ok"], doctor
    rotated = store.load()
    assert rotated is not None and rotated.refresh_token != stale.refresh_token
    text = their_status()
    assert user.email in text and rotated.session_id in text and "expired" not in text
    code, out = our("logout")
    assert code == 0 and out["revoked"] is True
    assert user.email not in their_status()
