"""The dashboard in a real browser: Debian's chromium driven by Playwright.

`make test` installs /usr/bin/chromium (scripts/ensure-tools.sh); without it this test
fails on purpose rather than skipping. Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from helpers import parse_one_json, run_cli
from missions_fixture import make_mission

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SLUG = "demo-01JDEMQ0"
COLUMNS = ["planned", "in_progress", "review", "approved", "done", "blocked", "canceled"]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def move(repo: Path, wp: str, lane: str) -> None:
    moved = run_cli(["agent", "tasks", "move-task", wp, "--to", lane, "--mission", SLUG,
                     "--actor", "claude", "--json"], repo)
    assert moved.returncode == 0, moved.stdout


@pytest.fixture
def dashboard_url(initialized_repo: Path) -> Iterator[tuple[Path, str]]:
    make_mission(initialized_repo)
    (initialized_repo / "kitty-specs" / SLUG / "spec.md").write_text(
        "# Demo spec\n\nA **small** mission. <b>raw html stays text</b>\n")
    proc = run_cli(["dashboard", "--json"], initialized_repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    started = parse_one_json(proc.stdout)
    try:
        yield initialized_repo, started["url"]
    finally:
        stopped = run_cli(["dashboard", "--kill", "--json"], initialized_repo)
        assert json.loads(stopped.stdout)["stopped"] is True


def card_column(page: Page, wp: str) -> str:
    return page.locator(f'[data-wp="{wp}"]').evaluate(
        "card => card.closest('[data-column]').dataset.column")


def test_a_move_appears_on_the_open_page_without_a_reload(
        dashboard_url: tuple[Path, str], page: Page) -> None:
    repo, url = dashboard_url
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    page.wait_for_selector('[data-column="planned"] [data-wp="WP01"]', timeout=10_000)
    page.wait_for_selector('#connection[data-state="live"]', timeout=10_000)

    columns = page.locator("[data-column]")
    assert columns.evaluate_all("cols => cols.map(c => c.dataset.column)") == COLUMNS
    assert page.locator("[data-column] h3 span:first-child").all_text_contents() == \
        ["Planned", "In progress", "Review", "Approved", "Done", "Blocked", "Canceled"]
    assert page.locator('[data-column="planned"] [data-wp]').count() == 3
    wp01 = page.locator('[data-wp="WP01"]')
    assert "Storage layer" in wp01.inner_text()
    assert "0/2 subtasks" in wp01.inner_text()
    assert page.locator('[data-wp="WP02"] .dep').inner_text() == "← WP01"
    assert page.locator('.mission[data-slug="demo-01JDEMQ0"]').count() == 1

    page.evaluate("window.__sameDocument = true")
    move(repo, "WP01", "claimed")
    # How fast the update arrives is measured by benchmarks/, never asserted here: the
    # bound only keeps a broken stream from hanging the suite.
    page.wait_for_selector('[data-column="in_progress"] [data-wp="WP01"]', timeout=60_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert card_column(page, "WP01") == "in_progress"
    assert page.locator('[data-wp="WP01"] [data-card-lane]').inner_text() == "Claimed"
    assert page.locator('[data-column="planned"] [data-wp]').count() == 2
    page.screenshot(path=str(ARTIFACTS / "dashboard-board.png"), full_page=True)

    page.click('[data-tab="documents"]')
    page.wait_for_selector("#artifact-view h1")
    assert page.inner_text("#artifact-view h1") == "Demo spec"
    assert "<b>raw html stays text</b>" in page.inner_text("#artifact-view")
    assert page.locator("#artifact-view b").count() == 0
    page.click('[data-tab="timeline"]')
    page.wait_for_selector("#timeline li[data-event]")
    assert "Claimed" in page.locator("#timeline li").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-timeline.png"))
    assert errors == []
    assert (ARTIFACTS / "dashboard-board.png").stat().st_size > 10_000


def test_the_page_falls_back_to_polling_when_events_cannot_stream(
        dashboard_url: tuple[Path, str], page: Page) -> None:
    repo, url = dashboard_url
    page.route("**/api/stream", lambda route: route.abort())
    page.goto(url)
    page.wait_for_selector('[data-column="planned"] [data-wp="WP02"]', timeout=10_000)
    page.wait_for_selector('#connection[data-state="polling"]', timeout=60_000)
    page.evaluate("window.__sameDocument = true")
    move(repo, "WP02", "claimed")
    page.wait_for_selector('[data-column="in_progress"] [data-wp="WP02"]', timeout=60_000)
    assert page.evaluate("window.__sameDocument") is True
    assert page.inner_text("#connection") == "polling"


def test_the_board_shows_the_same_warnings_as_the_cli(dashboard_url: tuple[Path, str],
                                                      page: Page) -> None:
    repo, url = dashboard_url
    (repo / "kitty-specs" / SLUG / "meta.json").unlink()
    cli = parse_one_json(run_cli(["agent", "tasks", "status", "--json"], repo).stdout)
    assert cli["warnings"] and "meta.json is missing" in cli["warnings"][0]
    page.goto(url)
    page.wait_for_selector("#board-problems li", timeout=10_000)
    shown = page.locator("#board-problems li").all_text_contents()
    assert cli["warnings"][0] in shown


def test_the_page_shows_who_sent_work_back_when_and_why(
        dashboard_url: tuple[Path, str], page: Page, tmp_path: Path) -> None:
    """Issue 9 §1/§9 on the rendered page: a rejection's reviewer, time, reason and
    feedback text on the timeline, a blocked card's reason on the board."""
    repo, url = dashboard_url
    feedback = tmp_path / "feedback.md"
    feedback.write_text("Docs must cover the merge command.\n\nAdd an example.\n")
    for lane in ("claimed", "in_progress", "for_review"):
        move(repo, "WP03", lane)
    for args in (["WP03", "--to", "in_review", "--actor", "rev"],
                 ["WP03", "--to", "planned", "--actor", "rev",
                  "--review-feedback-file", str(feedback)],
                 ["WP01", "--to", "blocked", "--actor", "claude", "--force",
                  "--reason", "needs the database credentials"]):
        moved = run_cli(["agent", "tasks", "move-task", *args, "--mission", SLUG, "--json"],
                        repo)
        assert moved.returncode == 0, moved.stdout
    page.goto(url)
    page.wait_for_selector('[data-column="blocked"] [data-wp="WP01"]', timeout=60_000)
    assert "needs the database credentials" in \
        page.locator('[data-wp="WP01"] .blocked-reason').inner_text()
    page.click('[data-tab="timeline"]')
    rejection = page.locator("#timeline li", has=page.locator("details.feedback"))
    rejection.first.wait_for(timeout=60_000)
    assert rejection.count() == 1
    shown = rejection.inner_text()
    assert "WP03" in shown and "rev" in shown  # who
    assert "changes requested: Docs must cover the merge command." in shown  # why
    assert rejection.locator("time").get_attribute("title")  # when (the exact instant)
    assert rejection.locator("details.feedback summary").inner_text() == \
        "Review feedback from rev"
    rejection.locator("details.feedback summary").click()
    assert "Add an example." in rejection.locator("details.feedback pre").inner_text()
