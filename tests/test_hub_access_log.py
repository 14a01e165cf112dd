"""The hub's access log (uvicorn, ``--log-level info``) never holds a device user code."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub_fixtures import HubServer

pytestmark = pytest.mark.hub


def test_device_user_codes_are_redacted_from_the_access_log(tmp_path: Path) -> None:
    hub = HubServer(backend="sqlite", database_url=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
                    workdir=tmp_path)
    hub.start("--log-level", "info")
    try:
        started = hub.start_device()
        code = started["user_code"]
        with httpx.Client(base_url=hub.url, trust_env=False, timeout=30) as http:
            # What a person opens from the CLI's prompt, signed out: the page sends them
            # to sign in with the code inside next= (percent-encoded).
            bounce = http.get("/device", params={"user_code": code})
            assert bounce.status_code == 303 and "user_code" in bounce.headers["location"]
            assert http.get(bounce.headers["location"]).status_code == 200
            assert http.get("/healthz").status_code == 200
    finally:
        hub.stop()
    log = (tmp_path / "hub-sqlite.log").read_text(errors="replace")
    assert '"GET /healthz HTTP/1.1" 200' in log  # the access log is on
    assert "GET /device?user_code=*** " in log and "user_code%3D***" in log, log
    for form in (code, code.replace("-", ""), code.replace("-", "%2D")):
        assert form not in log, log
