"""The demo's last act: the mission's board on a local team hub, equal to the local board.

A throwaway `spec-kitty-hub` (SQLite, 127.0.0.1, a free port) gets one user; the demo
user logs in with the device flow (`auth login --headless`, approved with the hub's
admin CLI, as an administrator would), turns sync on, queues what the agents recorded
while it was off (`sync backfill`), delivers it (`sync now`), and the hub's board API is
compared with the local status.json. The hub is stopped at the end.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

EMAIL = "demo@example.com"
PASSWORD = "demo-password-not-secret"


def _start_hub(hub_bin: str, base: Path,
               env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    log = base / "hub.log"
    out = log.open("w")
    proc = subprocess.Popen([hub_bin, "serve", "--port", "0", "--database",
                             f"sqlite:///{base / 'hub.sqlite3'}", "--log-level", "warning"],
                            stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text()
        if text.startswith("spec-kitty-hub listening on "):
            return proc, text.split()[3]
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the demo hub did not start:\n{log.read_text()}")


def _post(url: str, form: dict[str, str]) -> dict[str, Any]:
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as resp:
        body: dict[str, Any] = json.load(resp)
    return body


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)


def _viewer_token(hub: str, hub_bin: str, env: dict[str, str]) -> str:
    """A token for reading the board back (the device flow, approved by the admin CLI)."""
    started = _post(f"{hub}/oauth/device", {"client_id": "cli_native",
                                            "scope": "offline_access"})
    subprocess.run([hub_bin, "device", "approve", started["user_code"], "--user", EMAIL],
                   env=env, check=True, capture_output=True)
    token = _post(f"{hub}/oauth/token", {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": started["device_code"], "client_id": "cli_native"})
    return str(token["access_token"])


def _login(demo: Any, hub_bin: str, env: dict[str, str]) -> None:
    cli = str(Path(hub_bin).parent / "spec-kitty")
    print("$ spec-kitty auth login --headless   (approved with `spec-kitty-hub device approve`)")
    proc = subprocess.Popen([cli, "auth", "login", "--headless"], cwd=demo.root, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "enter the code:" in line:
            code = line.rsplit(":", 1)[1].strip()
            subprocess.run([hub_bin, "device", "approve", code, "--user", EMAIL],
                           env=env, check=True, capture_output=True)
            break
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"demo login failed: {out}{err}")
    print(out.rstrip())


def sync_to_hub(demo: Any, slug: str, bin_dir: Path) -> None:
    """Run the hub part of the demo (see the module docstring); raises on a mismatch."""
    demo.step("Share the board with the team: a local hub, `spec-kitty sync`")
    hub_bin = str(bin_dir / "spec-kitty-hub")
    hub_dir = demo.base / "hub"
    hub_dir.mkdir(exist_ok=True)
    proc, hub = _start_hub(hub_bin, hub_dir, demo.env)
    env = {**demo.env, "SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": hub,
           # the admin commands (user add, device approve) find the hub's database here
           "SPEC_KITTY_HUB_DATABASE_URL": f"sqlite:///{hub_dir / 'hub.sqlite3'}"}
    try:
        print(f"Local hub at {hub}")
        subprocess.run([hub_bin, "user", "add", EMAIL, "--name", "Demo User"],
                       input=PASSWORD + "\n",
                       env=env, check=True, capture_output=True, text=True)
        _login(demo, hub_bin, env)
        demo.sk("sync", "backfill", env_extra=env)
        demo.sk("sync", "now", env_extra=env)
        demo.sk("sync", "status", env_extra=env)
        token = _viewer_token(hub, hub_bin, env)
        me = _get(f"{hub}/api/v1/me", token)
        team = next(t["id"] for t in me["teams"] if t.get("is_private_teamspace"))
        config = (demo.root / ".kittify" / "config.yaml").read_text()
        project = next(line.split(":", 1)[1].strip().strip("'\"")
                       for line in config.splitlines() if line.strip().startswith("uuid:"))
        board = _get(f"{hub}/api/v1/teams/{team}/projects/{project}/missions/{slug}/board",
                     token)
        remote = {card["id"]: card["lane"] for card in board["work_packages"]}
        status = json.loads((demo.root / "kitty-specs" / slug / "status.json").read_text())
        local = {wp: state["lane"] for wp, state in status["work_packages"].items()}
        print(f"Hub board ({team}):   {remote}")
        print(f"Local board:          {local}")
        if remote != local:
            raise SystemExit("the hub's board differs from the local board")
        print("The hub's board matches the local board.")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
