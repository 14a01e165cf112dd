"""The demo's last act: the mission's board on the local team hub, equal to the local board.

With the project logged in (hub_login.py), the demo turns to sync: `sync backfill`
queues what the agents recorded while the hosted features were off, `sync now`
delivers it, `sync status` shows the empty queue, and the hub's board API (read with a
token of the same user, approved with the hub's admin CLI) is compared with the local
status.json. Last, the background daemon is started, `sync status --check` confirms the
foreground, the daemon's owner record and the queue agree, and the daemon is stopped.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from typing import Any

from hub_login import EMAIL, HUB, DemoHub


def _post(url: str, form: dict[str, str]) -> dict[str, Any]:
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as resp:
        body: dict[str, Any] = json.load(resp)
    return body


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)


def _viewer_token(hub: DemoHub) -> str:
    """A token for reading the board back (the device flow, approved by the admin CLI)."""
    started = _post(f"{hub.url}/oauth/device", {"client_id": "cli_native",
                                                "scope": "offline_access"})
    subprocess.run([HUB, "device", "approve", started["user_code"], "--user", EMAIL,
                    "--database", hub.database], check=True, capture_output=True)
    token = _post(f"{hub.url}/oauth/token", {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": started["device_code"], "client_id": "cli_native"})
    return str(token["access_token"])


def sync_to_hub(demo: Any, slug: str, hub: DemoHub, env: dict[str, str]) -> None:
    """Deliver the demo's events to ``hub`` and compare its board with the local one.

    ``env`` is the hosted environment log_in returned; raises SystemExit on a mismatch.
    """
    demo.step("Share the board with the team: `spec-kitty sync` to the hub")
    demo.sk("sync", "backfill", env_extra=env)
    demo.sk("sync", "now", env_extra=env)
    demo.sk("sync", "status", env_extra=env)
    token = _viewer_token(hub)
    me = _get(f"{hub.url}/api/v1/me", token)
    team = next(t["id"] for t in me["teams"] if t.get("is_private_teamspace"))
    config = (demo.root / ".kittify" / "config.yaml").read_text()
    project = next(line.split(":", 1)[1].strip().strip("'\"")
                   for line in config.splitlines() if line.strip().startswith("uuid:"))
    board = _get(f"{hub.url}/api/v1/teams/{team}/projects/{project}/missions/{slug}/board",
                 token)
    remote = {card["id"]: card["lane"] for card in board["work_packages"]}
    status = json.loads((demo.root / "kitty-specs" / slug / "status.json").read_text())
    local = {wp: state["lane"] for wp, state in status["work_packages"].items()}
    print(f"Hub board ({team}):   {remote}")
    print(f"Local board:          {local}")
    if remote != local:
        raise SystemExit("the hub's board differs from the local board")
    print("The hub's board matches the local board.")
    demo.step("Background delivery: the sync daemon, and the boundary check")
    # The demo's own runtime root, so its daemon may run even where the caller's
    # environment (the test suite) switches daemons off with SPEC_KITTY_SYNC_DISABLE.
    daemon_env = {**env, "SPEC_KITTY_SYNC_DISABLE": ""}
    demo.sk("sync", "daemon", "start", env_extra=daemon_env)
    try:
        demo.sk("sync", "status", "--check", env_extra=daemon_env)
    finally:
        demo.sk("sync", "daemon", "stop", env_extra=daemon_env)
