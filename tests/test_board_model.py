"""One board model (core/status/board.py) behind the CLI and the dashboard; boards people can read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec_kitty.core.status.board import COLUMNS, build_board
from spec_kitty.core.status.progress import WEIGHTED_NOTE
from spec_kitty.dashboard.projects import ServedProject
from spec_kitty.dashboard.readmodel import ProjectReader
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.work_packages import WorkPackage

from helpers import parse_one_json, run_cli
from missions_fixture import event, make_mission, write_log

SLUG = "authentication-middleware-refactor-01JDEMQ0"
TITLES = {"WP01": "Transactional persistence layer", "WP02": "Administrators' command line",
          "WP03": "Internationalization guide", "WP04": "Observability dashboards"}


def _snapshot(lanes: dict[str, str], event_count: int = 7) -> dict:
    summary = dict.fromkeys(["planned", "claimed", "in_progress", "for_review", "in_review",
                             "approved", "done", "blocked", "canceled"], 0)
    for lane in lanes.values():
        if lane in summary:
            summary[lane] += 1
    return {"summary": summary, "event_count": event_count, "last_event_id": "01K",
            "materialized_at": "2026-11-01T10:00:00+00:00",
            "work_packages": {wp: {"lane": lane} for wp, lane in lanes.items()}}


def test_the_model_has_one_fixed_column_set_and_explains_weighted() -> None:
    wps = [WorkPackage("WP01", "tasks/WP01-a.md", "A"),
           WorkPackage("WP02", "tasks/WP02-b.md", "B", dependencies=["WP01"]),
           WorkPackage("WP10", "tasks/WP10-c.md", "C")]
    board = build_board(_snapshot({"WP01": "approved", "WP02": "in_review"}), wps)
    assert [c["key"] for c in board["columns"]] == [key for key, _, _ in COLUMNS] + \
        ["uninitialized"]  # WP10 has no lane yet
    by_key = {c["key"]: c for c in board["columns"]}
    assert by_key["approved"]["wp_ids"] == ["WP01"] and by_key["review"]["wp_ids"] == ["WP02"]
    assert by_key["uninitialized"]["count"] == 1
    assert [c["id"] for c in board["work_packages"]] == ["WP01", "WP02", "WP10"]
    wp02 = board["work_packages"][1]
    assert wp02["dependency_lanes"] == {"WP01": "approved"} and wp02["blocked_by"] == []
    assert board["progress"]["weighted_note"] == WEIGHTED_NOTE and "90%" in WEIGHTED_NOTE
    assert board["event_count"] == 7
    seeded = build_board(_snapshot({"WP01": "planned"}), wps[:1])
    assert "uninitialized" not in [c["key"] for c in seeded["columns"]]


@pytest.fixture
def project(initialized_repo: Path) -> Path:
    mission = make_mission(initialized_repo, slug=SLUG, wps={
        wp: {"title": title, "subtasks": ["T001"] if wp == "WP01" else []}
        for wp, title in TITLES.items()})
    rows = [json.loads(line) for line in mission.events_file.read_text().splitlines()]
    rows += [event("WP01", "planned", "claimed", "2026-11-01T11:00:00+00:00",
                   "01JD0000000000000000000030"),
             event("WP03", "planned", "blocked", "2026-11-01T11:00:01+00:00",
                   "01JD0000000000000000000031"),
             {"actor": "tester", "at": "2026-11-01T11:00:02+00:00", "delta": {"note": "hi"},
              "event_id": "01JD0000000000000000000032", "kind": "annotation", "wp_id": "WP01"}]
    write_log(mission.events_file, rows)
    return initialized_repo


def test_cli_and_dashboard_show_the_same_lanes_cards_and_event_count(project: Path) -> None:
    cli = parse_one_json(run_cli(["agent", "tasks", "status", "--json"], project).stdout)
    reader = ProjectReader(ServedProject("demo", ProjectPaths(project)))
    dash = reader.board(SLUG)
    assert dash["columns"] == cli["columns"]
    assert dash["work_packages"] == cli["work_packages"]
    assert dash["by_lane"] == cli["by_lane"] and dash["progress"] == cli["progress"]
    assert dash["problems"] == cli["problems"] and dash["warnings"] == cli["warnings"]
    (project / "kitty-specs" / SLUG / "meta.json").unlink()  # a warning both must show
    cli = parse_one_json(run_cli(["agent", "tasks", "status", "--json"], project).stdout)
    dash = reader.board(SLUG)
    assert cli["warnings"] and dash["warnings"] == cli["warnings"]
    timeline = reader.timeline(SLUG)
    assert cli["event_count"] == dash["event_count"] == timeline["event_count"] == 6
    assert timeline["annotation_count"] == 1 and timeline["total"] == 7
    summary = parse_one_json(run_cli(["status", "--all", "--json"], project).stdout)
    row = summary["missions"][0]
    dash_row = reader.missions()["missions"][0]
    assert row["event_count"] == dash_row["event_count"] == 6
    assert row["by_column"] == dash_row["by_column"] == {c["key"]: c["count"]
                                                          for c in cli["columns"]
                                                          if c["key"] in row["by_column"]}


def _assert_whole_words(text: str, words: list[str]) -> None:
    for word in words:
        assert re.search(rf"(?<![\w'-]){re.escape(word)}(?![\w'-])", text), \
            f"{word!r} was broken or lost:\n{text}"


def test_status_at_80_columns_keeps_words_and_the_slug_whole(project: Path) -> None:
    proc = run_cli(["status"], project, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"mission: {SLUG}" in lines  # on a line of its own, never truncated
    board_lines = [line for line in lines if line[:1] in "┏┃┡│├└"]
    assert board_lines and all(len(line) <= 80 for line in board_lines)
    _assert_whole_words(proc.stdout, [w for t in TITLES.values() for w in t.split()])
    assert "Empty:" in proc.stdout and "Approved" in proc.stdout.split("Empty:")[1]
    assert "weighted progress counts each work package" in proc.stdout
    narrow = run_cli(["status"], project, env={"COLUMNS": "40"})
    assert narrow.returncode == 0 and f"mission: {SLUG}" in narrow.stdout.splitlines()
    _assert_whole_words(narrow.stdout, [w for t in TITLES.values() for w in t.split()])


def test_several_missions_without_mission_show_the_summary(project: Path) -> None:
    make_mission(project, slug="other-01JCCCCC", mission_id="01JCCCCC" + "0" * 18,
                 wps={"WP01": {"title": "Only"}})
    proc = run_cli(["status"], project, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert SLUG in proc.stdout and "other-01JCCCCC" in proc.stdout
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    data = parse_one_json(run_cli(["status", "--json"], project).stdout)
    assert data["count"] == 2 and "error" not in data
    agent = run_cli(["agent", "tasks", "status", "--json"], project)
    assert agent.returncode == 1  # agents must say which mission
    assert parse_one_json(agent.stdout)["error_code"] == "MISSION_REQUIRED"


def test_an_empty_project_exits_0_and_says_what_to_do(initialized_repo: Path) -> None:
    proc = run_cli(["status"], initialized_repo)
    assert proc.returncode == 0 and "agent mission create" in proc.stdout
    data = parse_one_json(run_cli(["status", "--json"], initialized_repo).stdout)
    assert data["count"] == 0 and "spec-kitty agent mission create" in data["next_step"]


TITLE_WORDS = st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzÉé")),
                      min_size=1, max_size=18)
LANES = ["planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done",
         "blocked", "canceled"]


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cards=st.lists(st.tuples(st.lists(TITLE_WORDS, min_size=1, max_size=6),
                                st.sampled_from(LANES)), min_size=1, max_size=12),
       width=st.integers(40, 200),
       slug=st.text(alphabet="abcdefghij-", min_size=30, max_size=90))
def test_any_board_at_any_width_keeps_words_and_the_slug_whole(
        cards: list[tuple[list[str], str]], width: int, slug: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from spec_kitty.cli import render_board

    wps = [WorkPackage(f"WP{n:02d}", f"tasks/WP{n:02d}.md", " ".join(words))
           for n, (words, _) in enumerate(cards, 1)]
    board = {**build_board(_snapshot({wp.wp_id: lane for wp, (_, lane) in zip(wps, cards,
                                                                           strict=True)}),
                           wps),
             "friendly_name": "Mission", "mission_slug": slug}
    out = io.StringIO()
    monkeypatch.setattr(render_board, "console",
                        lambda: Console(file=out, width=width, highlight=False, soft_wrap=True,
                                        color_system=None))
    monkeypatch.setattr(render_board, "warn", lambda message: None)
    render_board.render_board(board)
    text = out.getvalue()
    assert f"mission: {slug}" in text.splitlines()
    assert all(len(line) <= width for line in text.splitlines() if line[:1] in "┏┃┡│├└┌╭")
    _assert_whole_words(text, [word for words, _ in cards for word in words])


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.text(alphabet="abcdefgh-0123", min_size=1, max_size=70),
                               st.lists(st.sampled_from(LANES), max_size=8), TITLE_WORDS),
                     min_size=1, max_size=10, unique_by=lambda row: row[0]),
       width=st.integers(40, 200))
def test_the_all_missions_summary_never_cuts_a_slug(rows: list[tuple[str, list[str], str]],
                                                    width: int) -> None:
    from spec_kitty.cli.render_board import summary_text
    from spec_kitty.core.status.board import summary_row

    summary = {"missions": [{"mission_slug": slug, "friendly_name": name,
                             **summary_row(_snapshot({f"WP{n:02d}": lane
                                                      for n, lane in enumerate(lanes, 1)}))}
                            for slug, lanes, name in rows],
               "weighted_note": WEIGHTED_NOTE}
    lines = summary_text(summary, width).splitlines()
    for slug, _, _ in rows:
        assert any(line.split("  ")[0].rstrip() == slug for line in lines), (slug, lines)
    figures = lines[0][len("Mission"):].strip()  # the header's column labels
    if len("Mission  ") + len(figures) <= width:  # they fit: only a lone slug may be longer
        slugs = {slug for slug, _, _ in rows}
        assert all(len(line) <= width or line in slugs for line in lines), (width, lines)


def test_a_long_slug_at_80_columns_gets_its_own_line(project: Path) -> None:
    """Real slugs run to 60 characters and more: the summary keeps them whole without
    pushing their row past 80 columns."""
    long_slug = "workspace-per-work-package-for-parallel-development-01JCCCCC"
    make_mission(project, slug=long_slug, mission_id="01JCCCCC" + "0" * 18,
                 wps={"WP01": {"title": "Only"}})
    proc = run_cli(["status"], project, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert long_slug in lines and f"{SLUG}" in " ".join(lines)
    assert all(len(line) <= 80 for line in lines), lines
    figures = lines[lines.index(long_slug) + 1]
    assert figures.startswith(" ") and figures.split()[0] == "1"  # one planned WP
    assert all(cell.isdigit() for cell in figures.split())
