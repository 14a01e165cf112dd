"""The hub's team view over HTTP (SQLite and PostgreSQL): pages, their data, live
updates from the event table, and team scoping (404 for another team, never 403)."""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from hub_fixtures import HubServer, form_token
from sync_e2e_helpers import hub_get, member, planned_mission
from team_view_helpers import FEEDBACK, FEEDBACK_FILE, FEEDBACK_PATH, MISSION, TASKS, team_mission

pytestmark = pytest.mark.hub


def _page(client: httpx.Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    return html.unescape(response.text)


def test_team_project_mission_and_wp_pages(hub_server: HubServer) -> None:
    arranged = team_mission(hub_server)
    member = hub_server.browser(arranged.member)

    teams = _page(member, "/teams")
    assert f'href="/t/{arranged.team}"' in teams and arranged.member.private_team in teams

    team = _page(member, f"/t/{arranged.team}")
    assert f'href="{arranged.project_url}"' in team
    assert "acme/todo-cli" in team  # the repository
    assert "1 <span" in team.split("data-in-flight>")[1][:20]  # one mission in flight
    assert f'href="{arranged.mission_url}"' in team  # named on the project's tile

    project = _page(member, arranged.project_url)
    assert f'href="{arranged.mission_url}"' in project and "in flight" in project

    mission = _page(member, arranged.mission_url)
    data = mission.split('<script type="application/json" id="board-data">')[1]
    board = orjson.loads(data.split("</script>")[0])
    lanes = {card["id"]: card["lane"] for card in board["work_packages"]}
    assert lanes == {"WP01": "in_progress", "WP02": "in_progress", "WP03": "blocked",
                     "WP04": "planned"}
    assert [c["key"] for c in board["columns"]][:3] == ["planned", "in_progress", "review"]
    cards = {card["id"]: card for card in board["work_packages"]}
    assert cards["WP03"]["blocked_reason"] == "waits on the parser"
    # dependencies from the pushed tasks.md, as the local board shows them
    assert cards["WP03"]["dependencies"] == ["WP01", "WP02"]
    assert cards["WP03"]["blocked_by"] == ["WP01", "WP02"]  # neither approved nor done
    assert cards["WP01"]["dependencies"] == []
    # timeline: actor, reason and the review feedback from the dossier
    assert "reviewer-bot" in mission and "changes requested: quoted commas" in mission
    assert "Review feedback from reviewer-bot" in mission and FEEDBACK.strip() in mission
    assert "cycle_number" not in mission  # the file's frontmatter is not feedback
    assert f'href="{arranged.mission_url}/documents/spec.md"' in mission

    wp = _page(member, f"{arranged.mission_url}/wp/WP02")
    history = wp.split('id="wp-history"')[1]
    moves = [chunk.split("</span>")[0] for chunk in history.split('class="lane-tag lane-')[1:]]
    assert [m.split('">')[1] for m in moves] == [
        "new", "planned", "planned", "in progress", "in progress", "for review",
        "for review", "in progress"]
    assert "changes requested" in wp

    doc = _page(member, f"{arranged.mission_url}/documents/{FEEDBACK_PATH}")
    assert FEEDBACK.strip() in doc

    live = member.get(f"{arranged.mission_url}/live")
    assert live.status_code == 200 and live.headers["cache-control"] == "no-store"
    assert live.json()["board"]["event_count"] == board["event_count"] == 10
    assert "reviewer-bot" in live.json()["timeline_html"]


def test_synced_text_is_escaped_on_the_pages(hub_server: HubServer) -> None:
    arranged = team_mission(hub_server)
    hostile = '<img src=x onerror="alert(1)">'
    arranged.push([arranged.repo.move(MISSION, "WP04", "planned", "blocked", 20,
                                      reason=hostile, actor=hostile)])
    member = hub_server.browser(arranged.member)
    page = member.get(arranged.mission_url).text
    live = member.get(f"{arranged.mission_url}/live").json()["timeline_html"]
    wp = member.get(f"{arranged.mission_url}/wp/WP04").text
    for text in (page, live, wp):
        assert hostile not in text and "&lt;img src=x" in text
    # the board's JSON data block cannot end its <script> element early
    assert "</script><img" not in page and "\\u003cimg" in page


def test_another_team_gets_404_everywhere(hub_server: HubServer) -> None:
    arranged = team_mission(hub_server)
    outsider = hub_server.browser(arranged.outsider)
    own = outsider.get(f"/t/{arranged.outsider.private_team}")
    assert own.status_code == 200 and arranged.repo.project_uuid not in own.text
    assert arranged.team not in outsider.get("/teams").text
    # guessed URLs of the other team, and the other team's ids under the outsider's team
    other_urls = [f"/t/{arranged.team}", arranged.project_url, arranged.mission_url,
                  f"{arranged.mission_url}/wp/WP01", f"{arranged.mission_url}/documents/spec.md",
                  f"{arranged.mission_url}/live", f"{arranged.mission_url}/events/stream",
                  f"{arranged.mission_url}/timeline?before=1000000"]
    mine = f"/t/{arranged.outsider.private_team}"
    guessed = [url.replace(f"/t/{arranged.team}", mine) for url in other_urls[1:]]
    for url in other_urls + guessed + [f"{arranged.mission_url}/wp/WP99",
                                       f"{arranged.project_url}/m/nope"]:
        response = outsider.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert arranged.repo.project_uuid not in response.text
        assert "WP01" not in response.text and "Parser" not in response.text
    # members see it (the same URLs are real), anonymous visitors are sent to sign in
    member = hub_server.browser(arranged.member)
    assert member.get(f"{arranged.mission_url}/wp/WP99").status_code == 404
    anonymous = hub_server.browser()
    page = anonymous.get(arranged.mission_url)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert anonymous.get(f"{arranged.mission_url}/events/stream").status_code == 401
    assert anonymous.get(f"{arranged.mission_url}/live").status_code == 401


def _read_events(lines: Iterator[str], want: str, deadline: float) -> dict[str, object]:
    """The data of the next ``want`` event from an open SSE response's lines."""
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: ") and event == want:
            data: dict[str, object] = orjson.loads(line[len("data: "):])
            return data
        assert time.monotonic() < deadline, f"no {want} event in time"
    raise AssertionError(f"stream ended before a {want} event")


def test_the_stream_reports_events_ingested_by_another_hub_process(
        hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    arranged = team_mission(hub_server)
    # A second hub process on the same database: the change must reach a stream it
    # serves although the event is ingested by the first one.
    second = HubServer(backend=hub_server.backend, database_url=hub_server.database_url,
                       workdir=tmp_path_factory.mktemp("second-hub"))
    second.start()
    try:
        viewer = httpx.Client(base_url=second.url, timeout=30, trust_env=False,
                              cookies=hub_server.browser(arranged.member).cookies)
        with viewer.stream("GET", f"{arranged.mission_url}/events/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            deadline = time.monotonic() + 60
            lines = response.iter_lines()
            ready = _read_events(lines, "ready", deadline)
            arranged.push([arranged.repo.move(MISSION, "WP04", "planned", "claimed", 30)])
            change = _read_events(lines, "change", deadline)
            events_before, documents_before = map(int, str(ready["cursor"]).split(":"))
            events_after, documents_after = map(int, str(change["cursor"]).split(":"))
            assert events_after > events_before and documents_after == documents_before
            # a document pushed later (feedback arrives after its move) is a change too
            arranged.push_document("plan.md", "# Plan\n")
            later = _read_events(lines, "change", deadline)
            events_later, documents_later = map(int, str(later["cursor"]).split(":"))
            assert events_later == events_after and documents_later > documents_after
        board = viewer.get(f"{arranged.mission_url}/live").json()["board"]
        assert {c["id"]: c["lane"] for c in board["work_packages"]}["WP04"] == "claimed"
        viewer.close()
    finally:
        second.stop()


@contextlib.contextmanager
def _ready_stream(client: httpx.Client, mission_url: str
                  ) -> Iterator[tuple[Iterator[str], float]]:
    """The mission's open event stream, past its ``ready`` event: (lines, deadline)."""
    with client.stream("GET", f"{mission_url}/events/stream") as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        deadline = time.monotonic() + 60
        _read_events(lines, "ready", deadline)
        yield lines, deadline


def test_a_member_removed_from_the_team_loses_the_open_stream(hub_server: HubServer) -> None:
    from spec_kitty_hub.services.accounts import remove_member

    arranged = team_mission(hub_server)
    member = hub_server.browser(arranged.member)
    with _ready_stream(member, arranged.mission_url) as (lines, deadline):
        with hub_server.db.write() as session:
            remove_member(session, arranged.team, arranged.member.email)
        assert _read_events(lines, "gone", deadline) == {}
    assert member.get(arranged.mission_url).status_code == 404
    assert member.get(f"{arranged.mission_url}/events/stream").status_code == 404


@pytest.mark.parametrize("ending", ["sign-out", "disable"])
def test_signing_out_or_being_disabled_ends_the_open_stream(hub_server: HubServer,
                                                            ending: str) -> None:
    """Before, the stream went on for its full five minutes after the session ended."""
    arranged = team_mission(hub_server)
    member = hub_server.browser(arranged.member)
    with _ready_stream(member, arranged.mission_url) as (lines, deadline):
        if ending == "sign-out":
            other_tab = httpx.Client(base_url=hub_server.url, timeout=30, trust_env=False,
                                     cookies=member.cookies)
            token = form_token(other_tab.get("/teams").text)
            assert other_tab.post("/logout", data={"csrf_token": token}).status_code == 303
            other_tab.close()
        else:
            hub_server.admin("user", "disable", arranged.member.email)
        assert _read_events(lines, "gone", deadline) == {}


def test_subtask_marks_reach_the_hub_card(hub_server: HubServer, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ada_user, bob_user = hub_server.create_user(), hub_server.create_user()
    team = hub_server.create_team(owner=ada_user.email, members=(bob_user.email,))
    ada = member(hub_server, tmp_path, "ada", monkeypatch, ada_user)
    assert ada.sync("team", team)["team"] == team
    slug = planned_mission(ada)  # WP01 lists T001 and T002
    ada.move(slug, "WP01", "in_progress")
    assert ada.sync("now")["failed"] == 0
    mission_url = f"/t/{team}/p/{ada.project_uuid}/m/{slug}"
    bob = hub_server.browser(bob_user)

    def card(wp: str) -> tuple[int, int]:
        live = bob.get(f"{mission_url}/live")
        assert live.status_code == 200, live.text
        found = {c["id"]: c for c in live.json()["board"]["work_packages"]}[wp]
        return found["subtasks_done"], found["subtasks_total"]

    assert card("WP01") == (0, 2)
    ada.cli("agent", "tasks", "mark-status", "T001", "--mission", slug)
    assert ada.sync("now")["documents"]["pushed"] >= 1
    assert card("WP01") == (1, 2) and card("WP02") == (0, 1)
    # the local board shows the same figure
    local = {c["id"]: c for c in ada.cli("status", "--mission", slug)["work_packages"]}
    assert (local["WP01"]["subtasks_done"], local["WP01"]["subtasks_total"]) == (1, 2)
    ada.cli("agent", "tasks", "mark-status", "T002", "T003", "--mission", slug)
    ada.sync("now")
    assert card("WP01") == (2, 2) and card("WP02") == (1, 1)
    page = _page(bob, mission_url)  # the initial board data carries it too
    board = orjson.loads(page.split('id="board-data">')[1].split("</script>")[0])
    cards = {c["id"]: c for c in board["work_packages"]}
    assert (cards["WP01"]["subtasks_done"], cards["WP01"]["subtasks_total"]) == (2, 2)
    api = hub_get(ada, f"/api/v1/teams/{team}/projects/{ada.project_uuid}/missions/{slug}"
                  "/board")  # the bearer API's board is the same board
    cards = {c["id"]: c for c in api["work_packages"]}
    assert (cards["WP02"]["subtasks_done"], cards["WP02"]["subtasks_total"]) == (1, 1)
    assert cards["WP03"]["dependencies"] == ["WP01", "WP02"]


def test_pushed_documents_with_a_bom_and_crlf_read_the_same(hub_server: HubServer) -> None:
    """tasks.md and status.json saved by a Windows editor (BOM, CRLF) are pushed as they
    are; the hub's board reads them like the CLI does (a BOM in status.json used to hide
    every subtask mark)."""
    arranged = team_mission(hub_server)
    tasks = TASKS.replace("**Dependencies**: none\n", "**Dependencies**: none\n\n- T001 a\n"
                                                      "- T002 b\n")
    arranged.push_document("tasks.md", "\ufeff" + tasks.replace("\n", "\r\n"))
    snapshot = {"work_packages": {"WP01": {"lane": "in_progress",
                                           "subtasks": {"T001": "done"}}}}
    arranged.push_document("status.json", "\ufeff" + orjson.dumps(
        snapshot, option=orjson.OPT_INDENT_2).decode().replace("\n", "\r\n"))
    live = hub_server.browser(arranged.member).get(f"{arranged.mission_url}/live")
    assert live.status_code == 200, live.text
    cards = {c["id"]: c for c in live.json()["board"]["work_packages"]}
    assert (cards["WP01"]["subtasks_done"], cards["WP01"]["subtasks_total"]) == (1, 2)
    assert cards["WP03"]["dependencies"] == ["WP01", "WP02"]


def test_feedback_frontmatter_is_stripped_whatever_the_line_endings() -> None:
    from spec_kitty_hub.services.views.timeline import strip_frontmatter

    for saved in (FEEDBACK_FILE, "\ufeff" + FEEDBACK_FILE.replace("\n", "\r\n")):
        assert strip_frontmatter(saved) == FEEDBACK


def _seqs(page: str) -> list[int]:
    return [int(chunk.split('"')[0]) for chunk in page.split('data-seq="')[1:]]


def test_older_events_are_paged_by_cursor_within_the_team(hub_server: HubServer) -> None:
    arranged = team_mission(hub_server)
    member = hub_server.browser(arranged.member)
    arranged_count = len(_seqs(_page(member, arranged.mission_url)))  # creations + moves
    lanes = ("claimed", "planned")
    arranged.push([arranged.repo.move(MISSION, "WP04", lanes[(n + 1) % 2], lanes[n % 2],
                                      100 + n) for n in range(140)])
    total = arranged_count + 140
    mission = _page(member, arranged.mission_url)
    latest = _seqs(mission)
    assert len(latest) == 100 and latest == sorted(latest, reverse=True)
    link = mission.split('<li class="older"><a href="')[1].split('"')[0]
    assert link == f"{arranged.mission_url}/timeline?before={latest[-1]}"
    # the live re-render carries the same link (the page swaps the whole list)
    live = html.unescape(member.get(f"{arranged.mission_url}/live").json()["timeline_html"])
    assert f'href="{link}"' in live

    older = _page(member, link)
    second = _seqs(older)
    assert len(second) == total - 100 and max(second) < min(latest)
    assert 'class="older"' not in older  # nothing before the first event
    assert "created" in older  # the oldest events: the work packages' creation
    assert len(set(latest) | set(second)) == total  # the whole history, each event once
    # a deeper cursor pages the same way; without one the page shows the latest events
    assert _seqs(_page(member, f"{arranged.mission_url}/timeline?before={second[9]}")) \
        == second[10:]
    assert _seqs(_page(member, f"{arranged.mission_url}/timeline"))[:100] == latest
    assert member.get(f"{arranged.mission_url}/timeline?before=nope").status_code == 422
    huge = f"{arranged.mission_url}/timeline?before={2**63}"  # past the database integer
    assert member.get(huge).status_code == 422

    # another team: 404 on the real URL and with the ids under its own team
    outsider = hub_server.browser(arranged.outsider)
    mine = link.replace(f"/t/{arranged.team}", f"/t/{arranged.outsider.private_team}")
    for url in (link, mine):
        response = outsider.get(url)
        assert response.status_code == 404 and "WP04" not in response.text, url
    anonymous = hub_server.browser().get(link)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
