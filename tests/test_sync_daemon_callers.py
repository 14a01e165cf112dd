"""Who may start the daemon: a hub-backed tracker sync and the local dashboard's "Sync
now" button declare ``REMOTE_REQUIRED``; other commands never start one. Real hub, real
CLI and dashboard processes, the button clicked in chromium."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from auth_cli import ON, headless_login, hub_env
from daemon_helpers import Daemons, daemon_pids, record, wait_for
from hub_fixtures import HubServer
from tracker_hub_helpers import connect_github

from doubles.github import GitHubDouble
from helpers import parse_one_json, run_cli

WAIT_MS = 60_000  # bounds the wait on a slow, shared machine; never a timing claim


def sk(cwd: Path, *args: str, env: dict[str, str] | None = None,
       input_text: str | None = None) -> tuple[int, dict[str, Any]]:
    proc = run_cli([*args, "--json"], cwd, env={**ON, **(env or {})}, input_text=input_text)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, parse_one_json(proc.stdout)


@pytest.mark.hub
def test_hub_backed_tracker_sync_starts_the_daemon_other_commands_do_not(
        daemons: Daemons, sqlite_hub: HubServer, github_double: GitHubDouble,
        initialized_repo: Path) -> None:
    from spec_kitty.hosted.config import set_setting
    from spec_kitty.hosted.runtime import RuntimePaths

    repo, hub = initialized_repo, sqlite_hub
    home = Path(os.environ["SPEC_KITTY_HOME"])
    user = hub.create_user()
    team = hub.create_team(owner=user.email)
    connect_github(hub, team, github_double)
    env = hub_env(hub)
    headless_login(hub, repo, user.email)
    code, _ = sk(repo, "tracker", "bind", "--provider", "github", "--select", "1",
                 "--egress", "permitted", env=env)
    assert code == 0
    code, _ = sk(repo, "tracker", "status", env=env)  # talks to the hub, but LOCAL_ONLY
    assert code == 0
    assert daemon_pids(home) == [] and record(home) is None
    set_setting("sync", "background_daemon", "manual", RuntimePaths(home))
    code, pulled = sk(repo, "tracker", "sync", "pull", env=env)  # manual: nothing starts
    assert code == 0 and "items" in pulled
    assert daemon_pids(home) == [] and record(home) is None
    set_setting("sync", "background_daemon", "auto", RuntimePaths(home))
    items = [{"action": "create", "patch": {"title": "From the CLI", "body": "b"}}]
    code, pushed = sk(repo, "tracker", "sync", "push", "--items-json", "-", env=env,
                      input_text=json.dumps(items))
    assert code == 0 and pushed["items"][0]["outcome"] == "created"
    owner = wait_for(lambda: record(home), "the daemon started by tracker sync push")
    assert owner.server_url.rstrip("/") == hub.url.rstrip("/")
    wait_for(lambda: daemon_pids(home) == [owner.pid], "exactly one daemon")
    code, _ = sk(repo, "tracker", "sync", "pull", env=env)  # reuses it
    assert code == 0 and daemon_pids(home) == [owner.pid]


def _dashboard(repo: Path, env: dict[str, str]) -> str:
    started = run_cli(["dashboard", "--json"], repo, env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    return str(parse_one_json(started.stdout)["url"]).rstrip("/")


def _delivered(person: Any, team: str, slug: str) -> set[str]:
    """Event ids the hub stored for the mission (none while the hub has no such mission)."""
    from sync_e2e_helpers import hub_event_ids

    try:
        return set(hub_event_ids(person, team, slug))
    except AssertionError:  # mission_not_found until its first events arrive
        return set()


def _sync_now(url: str, **headers: str) -> Any:
    import httpx

    return httpx.post(f"{url}/api/sync/now", timeout=60,
                      headers=headers or {"X-Spec-Kitty-Dashboard": "sync-now"})


@pytest.mark.hub
def test_the_dashboards_sync_now_starts_the_daemon_and_delivers(
        daemons: Daemons, sqlite_hub: HubServer, tmp_path: Path, browser: Browser,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from spec_kitty.hosted.config import set_setting
    from spec_kitty.hosted.runtime import RuntimePaths
    from sync_e2e_helpers import member, planned_mission, produce
    from test_sync_daemon_hub import queue_depth

    person = member(sqlite_hub, tmp_path, "dee", monkeypatch)
    daemons.watch(person.home)
    paths = RuntimePaths(person.home)
    set_setting("sync", "background_daemon", "manual", paths)  # events wait in the queue
    slug = planned_mission(person)
    team = person.user.private_team
    assert queue_depth(person) > 0 and daemon_pids(person.home) == []
    url = _dashboard(person.repo, person.env)
    try:
        refused = _sync_now(url, Origin="https://evil.example",
                            **{"X-Spec-Kitty-Dashboard": "sync-now"})
        assert refused.status_code == 403
        assert refused.json()["error_code"] == "CROSS_SITE_REQUEST"
        assert _sync_now(url, Accept="application/json").status_code == 403  # no header
        manual = _sync_now(url)
        assert manual.status_code == 200, manual.text
        assert manual.json() == {**manual.json(), "started": False, "triggered": False,
                                 "skipped_reason": "policy_manual"}
        assert daemon_pids(person.home) == []
        set_setting("sync", "background_daemon", "auto", paths)
        page = browser.new_page()
        try:  # the button itself, in a real browser
            page.goto(url)
            button = page.locator("#sync-now")
            expect(button).to_be_visible(timeout=WAIT_MS)
            button.click()
            expect(page.locator("#sync-now-result")).to_have_text("Sync started.",
                                                                  timeout=WAIT_MS)
        finally:
            page.close()
        wanted = set(person.log_ids(slug))
        wait_for(lambda: wanted <= _delivered(person, team, slug),
                 "the queued events to reach the hub")
        wait_for(lambda: queue_depth(person) == 0, "an empty queue")
        owner = wait_for(lambda: record(person.home), "the owner record")
        assert daemon_pids(person.home) == [owner.pid]
        import httpx

        panel = httpx.get(f"{url}/api/sync", timeout=30).json()
        assert panel["daemon"]["state"] == "running" and panel["daemon"]["pid"] == owner.pid
        more = set(produce(person, slug, 3, 0))  # queued without a nudge
        second = _sync_now(url, Origin=url, **{"X-Spec-Kitty-Dashboard": "sync-now"}).json()
        assert second == {**second, "started": False, "triggered": True,
                          "pid": owner.pid, "skipped_reason": None}
        wait_for(lambda: more <= _delivered(person, team, slug),
                 "the triggered drain to deliver")
    finally:
        run_cli(["dashboard", "--kill", "--json"], person.repo, env=person.env)


def test_with_hosted_sync_off_sync_now_is_404_and_spawns_nothing(
        daemons: Daemons, initialized_repo: Path) -> None:
    home = Path(os.environ["SPEC_KITTY_HOME"])
    off = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "0"}
    url = _dashboard(initialized_repo, off)
    try:
        import httpx

        assert httpx.get(f"{url}/api/sync", timeout=30).json() == {"enabled": False}
        answer = _sync_now(url)
        assert answer.status_code == 404 and answer.json()["error_code"] == "SYNC_DISABLED"
        assert daemon_pids(home) == [] and record(home) is None
        assert not (home / "sync").exists()
    finally:
        run_cli(["dashboard", "--kill", "--json"], initialized_repo, env=off)


def test_sync_now_in_process_policy_errors_and_a_foreign_page(
        daemons: Daemons, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    with warnings.catch_warnings():  # starlette prefers `httpx2`; `httpx` still works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from auth_helpers import sample_session
    from spec_kitty.auth.storage import SessionStore
    from spec_kitty.dashboard.api import create_app
    from spec_kitty.dashboard.projects import served_projects
    from spec_kitty.hosted.runtime import RuntimePaths

    root = daemons.watch(tmp_path / "runtime")
    paths = RuntimePaths(root)
    SessionStore(paths).save(sample_session("http://127.0.0.1:9"))
    monkeypatch.setenv("SPEC_KITTY_HOME", str(root))
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    project = tmp_path / "repo"
    (project / ".kittify").mkdir(parents=True)
    (project / ".kittify" / "config.yaml").write_text("vcs:\n  type: git\n")
    app = create_app(served_projects([project]), token="t" * 32, watch=False)
    web = TestClient(app, base_url="http://127.0.0.1")
    header = {"X-Spec-Kitty-Dashboard": "sync-now"}
    assert web.post("/api/sync/now").status_code == 403  # a plain form post
    assert web.post("/api/sync/now", headers={**header, "Origin": "http://127.0.0.1.evil"}
                    ).status_code == 403
    assert web.get("/api/sync/now").status_code == 405
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text('[sync]\nbackground_daemon = ""\n')
    broken = web.post("/api/sync/now", headers=header)
    assert broken.status_code == 400 and broken.json()["error_code"] == "CONFIG_INVALID"
    assert str(paths.config_file) in broken.json()["error"]
    monkeypatch.setenv("SPEC_KITTY_SYNC_DISABLE", "1")  # the kill switch: nothing contacted
    paths.config_file.write_text('[sync]\nbackground_daemon = "auto"\n')
    killed = web.post("/api/sync/now", headers=header).json()
    assert killed["skipped_reason"] == "SPEC_KITTY_SYNC_DISABLE is set"
    assert killed["triggered"] is False and killed["started"] is False
    assert daemon_pids(root) == [] and record(root) is None
