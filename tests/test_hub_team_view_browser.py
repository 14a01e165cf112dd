"""The team view in a real browser (Debian's chromium) against a real hub (SQLite and
PostgreSQL) and the real CLI: a teammate's open board follows a move made with
`move-task` + `sync now`, and a subtask marked with `mark-status` + `sync now`, without
a reload; another team gets 404. Screenshots go to test-artifacts/ (desktop and phone).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hub_fixtures import HubServer, HubUser
from sync_e2e_helpers import Member, member, planned_mission

from helpers import parse_one_json, run_cli

pytestmark = pytest.mark.hub
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
# Generous: the board must change without a reload; how fast is the hub's business,
# this only bounds the wait on a slow, shared machine.
WAIT_MS = 30_000


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _signed_in(browser: Browser, contexts: list[BrowserContext], hub: HubServer,
               user: HubUser, viewport: str = "desktop") -> Page:
    context = browser.new_context(viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{hub.url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def test_a_teammates_cli_move_reaches_the_open_board(
        browser: Browser, contexts: list[BrowserContext], hub_server: HubServer,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = hub_server
    ada_user, bob_user = hub.create_user(), hub.create_user()
    team = hub.create_team(owner=ada_user.email, members=(bob_user.email,))
    ada = member(hub, tmp_path, "ada", monkeypatch, ada_user)
    assert ada.sync("team", team)["team"] == team
    slug = planned_mission(ada)
    ada.move(slug, "WP01", "in_progress")
    assert ada.sync("now")["failed"] == 0
    project_url = f"{hub.url}/t/{team}/p/{ada.project_uuid}"
    mission_url = f"{project_url}/m/{slug}"

    bob = _signed_in(browser, contexts, hub, bob_user)
    bob.goto(mission_url)
    card = bob.locator('#board [data-wp="WP01"]')
    expect(card).to_have_attribute("data-lane", "in_progress")
    expect(bob.locator('#board [data-column="in_progress"] [data-wp="WP01"]')).to_be_visible()
    # dependencies come from the synced tasks.md, drawn by the shared renderer
    expect(bob.locator('#board [data-wp="WP03"] .dep')).to_have_text(["← WP01", "← WP02"])
    expect(bob.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    bob.evaluate("window.__not_reloaded = true")

    # subtask progress: a mark-status + sync reaches the open card (WP01 lists T001, T002)
    expect(card.locator(".subtasks > span")).to_have_text("0/2 subtasks")
    ada.cli("agent", "tasks", "mark-status", "T001", "--mission", slug)
    assert ada.sync("now")["failed"] == 0
    expect(card.locator(".subtasks > span")).to_have_text("1/2 subtasks", timeout=WAIT_MS)

    ada.move(slug, "WP01", "for_review")
    assert ada.sync("now")["synced"] >= 1
    expect(bob.locator('#board [data-column="review"] [data-wp="WP01"]')).to_be_visible(
        timeout=WAIT_MS)
    expect(card).to_have_attribute("data-lane", "for_review")
    expect(bob.locator("#board-news")).to_have_text("WP01 now For review")
    assert bob.evaluate("window.__not_reloaded") is True  # the same page, re-rendered
    expect(bob.locator("#timeline li").first).to_contain_text("WP01")
    expect(bob.locator("#timeline li").first).to_contain_text("for review")

    # a review sends it back with feedback: the open page shows the feedback text
    feedback = tmp_path / "feedback.md"
    feedback.write_text("Storage loses todos on a crash: write atomically.\n")
    ada.cli("agent", "tasks", "move-task", "WP01", "--to", "in_review", "--mission", slug,
            "--actor", "reviewer-ada")
    ada.cli("agent", "tasks", "move-task", "WP01", "--to", "in_progress", "--mission", slug,
            "--review-feedback-file", str(feedback), "--actor", "reviewer-ada")
    assert ada.sync("now")["failed"] == 0
    expect(bob.locator('#board [data-column="in_progress"] [data-wp="WP01"]')).to_be_visible(
        timeout=WAIT_MS)
    latest = bob.locator("#timeline li").first
    expect(latest).to_contain_text("changes requested")
    expect(latest.locator("details.feedback summary")).to_have_text(
        "Review feedback from reviewer-ada")
    expect(latest.locator("details.feedback pre")).to_contain_text(
        "Storage loses todos on a crash", use_inner_text=False)

    # the card links to its history across lanes
    bob.locator('#board a.wp-id', has_text="WP01").click()
    # created, → planned, → in progress, → for review, → in review, → in progress
    expect(bob.locator("#wp-history li")).to_have_count(6)
    expect(bob.locator("#wp-lane")).to_have_text("in progress")

    # ada's local dashboard shows the sync state and links the mission to the hub page
    _check_local_dashboard(bob, ada, mission_url)

    # another team: 404 on the project and on the mission's stream
    eve = _signed_in(browser, contexts, hub, hub.create_user())
    for url in (project_url, f"{mission_url}/events/stream"):
        response = eve.goto(url)
        assert response is not None and response.status == 404, url
    assert ada.project_uuid not in eve.content()

    # screenshots: team, project and mission pages, desktop and phone
    ARTIFACTS.mkdir(exist_ok=True)
    for name, size in VIEWPORTS.items():
        page = bob if name == "desktop" else _signed_in(browser, contexts, hub, bob_user, name)
        page.set_viewport_size(size)  # type: ignore[arg-type]
        for label, url in (("team", f"{hub.url}/t/{team}"), ("project", project_url),
                           ("mission", mission_url)):
            page.goto(url)
            if label == "mission":
                expect(page.locator('#board [data-wp="WP01"]')).to_be_visible()
            shot = ARTIFACTS / f"hub-{label}-{name}.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 5_000


def _check_local_dashboard(page: Page, ada: Member, mission_url: str) -> None:
    started = run_cli(["dashboard", "--json"], ada.repo, env=ada.env)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        page.goto(parse_one_json(started.stdout)["url"])
        expect(page.locator("#sync-text")).to_contain_text("Sync: 0 queued", timeout=WAIT_MS)
        expect(page.locator("#sync-text")).to_contain_text("last delivered")
        expect(page.locator("#sync-state")).to_have_attribute("data-state", "ok")
        expect(page.locator("#hub-link")).to_have_attribute("href", mission_url)
        # the shared renderer draws the local board too
        expect(page.locator('#board [data-column="in_progress"] [data-wp="WP01"]')).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-sync-state-desktop.png"))
    finally:
        run_cli(["dashboard", "--kill", "--json"], ada.repo, env=ada.env)
