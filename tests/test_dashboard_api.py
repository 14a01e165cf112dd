"""The dashboard's JSON API, page and static files, through starlette's TestClient."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # Starlette now prefers the `httpx2` fork for its TestClient; `httpx` still works
    # and is the dev dependency this project declares.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from spec_kitty.dashboard import assets
from spec_kitty.dashboard.api import TOKEN_HEADER, create_app
from spec_kitty.dashboard.live import changed_missions
from spec_kitty.dashboard.projects import served_projects
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log

from missions_fixture import MISSION_ID, event, make_mission, write_log

TOKEN = "0123456789abcdef0123456789abcdef"
SLUG = "demo-01JDEMQ0"
OTHER_ID = "01JOTHER000000000000000000"


def client_for(*roots: Path, **kwargs: object) -> TestClient:
    app = create_app(served_projects(list(roots)), token=TOKEN, watch=False, **kwargs)
    return TestClient(app, base_url="http://127.0.0.1")


def progressed_log(mission_dir: Path) -> None:
    """WP01 done, WP02 claimed by claude (with a subtask annotation), WP03 planned."""
    rows = [
        event("WP01", "genesis", "planned", "2026-11-01T10:00:00.000000+00:00", "01JD00A"),
        event("WP02", "genesis", "planned", "2026-11-01T10:00:01.000000+00:00", "01JD00B"),
        event("WP03", "genesis", "planned", "2026-11-01T10:00:02.000000+00:00", "01JD00C"),
        event("WP01", "planned", "done", "2026-11-01T11:00:00.000000+00:00", "01JD00D",
              force=True, reason="shipped elsewhere"),
        event("WP02", "planned", "claimed", "2026-11-01T12:00:00.000000+00:00", "01JD00E",
              actor="claude"),
        {"kind": "annotation", "event_id": "01JD00F", "wp_id": "WP01", "actor": "claude",
         "at": "2026-11-01T11:30:00.000000+00:00", "delta": {"subtasks": {"T001": "done"}}},
    ]
    write_log(mission_dir / "status.events.jsonl", rows)


def add_missions(root: Path) -> Path:
    mission = make_mission(root)
    progressed_log(mission.path)
    (mission.path / "spec.md").write_text(
        "# Spec\n\nHello <script>alert(1)</script> **bold** [x](javascript:alert(1))\n\n"
        "| FR | What |\n|---|---|\n| FR-001 | Add |\n")
    (mission.path / "plan.md").write_text("# Plan\n\nSteps.\n")
    make_mission(root, slug="other-01JOTHER", mission_id=OTHER_ID, wps={})
    return root


@pytest.fixture
def repo(initialized_repo: Path) -> Path:
    """A real project (git + `spec-kitty init`) for tests that change files."""
    return add_missions(initialized_repo)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """One project for the many tests that only read (`init` per test is slow)."""
    root = tmp_path_factory.mktemp("shared") / "repo"
    (root / ".kittify").mkdir(parents=True)
    (root / ".kittify" / "config.yaml").write_text("vcs:\n  type: git\n")
    return client_for(add_missions(root))


def test_health_reports_the_server_but_never_the_token(repo: Path) -> None:
    response = client_for(repo).get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert isinstance(body["pid"], int)
    assert body["projects"] == [{"key": "repo", "root": str(repo.resolve()), "name": "repo"}]
    assert TOKEN not in response.text
    assert "token" not in body


def test_missions_have_lane_counts_progress_and_documents(repo: Path) -> None:
    body = client_for(repo).get("/api/missions").json()
    assert body["count"] == 2
    rows = {row["slug"]: row for row in body["missions"]}
    demo = rows[SLUG]
    assert demo["mission_id"] == MISSION_ID and demo["mid8"] == "01JDEMQ0"
    assert demo["by_lane"]["done"] == 1 and demo["by_lane"]["claimed"] == 1
    assert demo["by_lane"]["planned"] == 1
    assert demo["total_wps"] == 3 and demo["done_wps"] == 1
    assert demo["progress_percentage"] == pytest.approx(33.3)
    assert demo["documents"]["spec"] is True and demo["documents"]["plan"] is True
    assert demo["documents"]["research"] is False
    assert demo["event_count"] == 5
    assert rows["other-01JOTHER"]["total_wps"] == 0


def test_board_groups_cards_into_columns_with_details(shared: TestClient) -> None:
    board = shared.get(f"/api/missions/{SLUG}/board").json()
    keys = [column["key"] for column in board["columns"]]
    assert keys == ["planned", "in_progress", "review", "approved", "done", "blocked",
                    "canceled"]
    by_id = {card["id"]: card for card in board["work_packages"]}
    cards = {wp: (column["key"], by_id[wp]) for column in board["columns"]
             for wp in column["wp_ids"]}
    assert [column["count"] for column in board["columns"]] == [1, 1, 0, 0, 1, 0, 0]
    assert cards["WP01"][0] == "done" and cards["WP02"][0] == "in_progress"
    assert cards["WP03"][0] == "planned"
    wp01, wp02 = cards["WP01"][1], cards["WP02"][1]
    assert wp01["title"] == "Storage layer"
    assert (wp01["subtasks_done"], wp01["subtasks_total"]) == (1, 2)
    assert wp02["lane"] == "claimed" and wp02["actor"] == "claude"
    assert wp02["dependencies"] == ["WP01"] and wp02["dependency_lanes"] == {"WP01": "done"}
    assert wp02["blocked_by"] == []
    assert "weighted" in board["progress"]["weighted_note"]
    assert wp01["force_count"] == 1
    assert board["progress"]["done_wps"] == 1


@pytest.mark.parametrize("handle", [SLUG, MISSION_ID, "01JDEMQ0", "demo"])
def test_a_mission_is_found_by_slug_id_mid8_or_prefix(shared: TestClient, handle: str) -> None:
    board = shared.get(f"/api/missions/{handle}/board").json()
    assert board["mission"]["slug"] == SLUG


def test_unknown_and_ambiguous_missions_are_json_errors(repo: Path) -> None:
    client = client_for(repo)
    missing = client.get("/api/missions/nope/board")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "MISSION_NOT_FOUND"
    make_mission(repo, slug="demo-two-01JDEMQ9", mission_id="01JDEMQ9000000000000000000")
    ambiguous = client.get("/api/missions/demo-/board")
    assert ambiguous.status_code == 409
    assert ambiguous.json()["error_code"] == "MISSION_AMBIGUOUS_SELECTOR"


def test_a_broken_log_is_reported_not_zeroed(repo: Path) -> None:
    log = repo / "kitty-specs" / SLUG / "status.events.jsonl"
    log.write_text(log.read_text() + "{not json\n")
    client = client_for(repo)
    response = client.get(f"/api/missions/{SLUG}/board")
    assert response.status_code == 422
    assert response.json()["error_code"] == "EVENT_LOG_INVALID"
    assert response.json()["line"] == 7
    row = next(r for r in client.get("/api/missions").json()["missions"] if r["slug"] == SLUG)
    assert row["error_code"] == "EVENT_LOG_INVALID" and "by_lane" not in row
    timeline = client.get(f"/api/missions/{SLUG}/events").json()
    assert timeline["total"] == 6 and timeline["problems"][0]["line"] == 7


def test_documents_render_as_safe_html_or_raw_markdown(shared: TestClient) -> None:
    client = shared
    spec = client.get(f"/api/missions/{SLUG}/artifacts/spec").json()
    assert "<strong>bold</strong>" in spec["html"]
    assert "<table>" in spec["html"]
    assert "&lt;script&gt;" in spec["html"] and "<script>" not in spec["html"]
    assert 'href="javascript' not in spec["html"]
    raw = client.get(f"/api/missions/{SLUG}/artifacts/spec?format=markdown").json()
    assert raw["markdown"].startswith("# Spec") and "html" not in raw
    wp = client.get(f"/api/missions/{SLUG}/artifacts/WP02").json()
    assert wp["file"] == "tasks/WP02-wp02.md"
    assert "dependencies: [WP01]" in wp["frontmatter"]
    assert wp["html"].startswith("<h1>WP02: CLI commands</h1>")
    assert client.get(f"/api/missions/{SLUG}/artifacts/wp2").json() == wp  # one WP id shape
    listing = client.get(f"/api/missions/{SLUG}/artifacts").json()["artifacts"]
    assert [a["name"] for a in listing] == ["spec", "plan", "WP01", "WP02", "WP03"]


@pytest.mark.parametrize("name", ["research", "meta.json", "..%2Fmeta.json", "WP09",
                                  "%2E%2E%2F%2E%2E%2F.kittify%2Fconfig.yaml", "status"])
def test_unknown_artifacts_are_404_and_never_paths(shared: TestClient, name: str) -> None:
    response = shared.get(f"/api/missions/{SLUG}/artifacts/{name}")
    assert response.status_code == 404
    assert "vcs" not in response.text and "mission_id" not in response.text


def test_a_document_symlinked_out_of_the_mission_is_refused(repo: Path) -> None:
    secret = repo / "secret.txt"
    secret.write_text("top secret\n")
    research = repo / "kitty-specs" / SLUG / "research.md"
    research.symlink_to(secret)
    response = client_for(repo).get(f"/api/missions/{SLUG}/artifacts/research")
    assert response.status_code == 422
    assert "top secret" not in response.text


def test_events_are_a_timeline_newest_first(shared: TestClient) -> None:
    client = shared
    body = client.get(f"/api/missions/{SLUG}/events").json()
    assert body["total"] == 6
    ats = [e["at"] for e in body["events"]]
    assert ats == sorted(ats, reverse=True)
    first = body["events"][0]
    assert (first["kind"], first["wp_id"], first["from_lane"], first["to_lane"]) == \
        ("transition", "WP02", "planned", "claimed")
    assert any(e["kind"] == "annotation" and e["delta"]["subtasks"] == {"T001": "done"}
               for e in body["events"])
    assert len(client.get(f"/api/missions/{SLUG}/events?limit=2").json()["events"]) == 2
    assert client.get(f"/api/missions/{SLUG}/events?limit=0").status_code == 400


def test_an_appended_event_shows_up_on_the_next_request(repo: Path) -> None:
    client = client_for(repo)
    mission_dir = repo / "kitty-specs" / SLUG
    assert client.get(f"/api/missions/{SLUG}/board").json()["by_lane"]["blocked"] == 0
    from spec_kitty.repo.missions import Mission

    mission = Mission(mission_dir)
    with event_log.status_lock(ProjectPaths(repo), mission):
        event_log.append_rows(mission, [event("WP03", "planned", "blocked",
                                              "2026-11-02T09:00:00.000000+00:00", "01JD00G")])
    board = client.get(f"/api/missions/{SLUG}/board").json()
    assert board["by_lane"]["blocked"] == 1
    row = next(r for r in client.get("/api/missions").json()["missions"] if r["slug"] == SLUG)
    assert row["by_lane"]["blocked"] == 1
    assert client.get(f"/api/missions/{SLUG}/events").json()["total"] == 7


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


def test_serving_never_writes_a_file(repo: Path) -> None:
    before = _tree(repo)
    client = client_for(repo)
    for url in ["/", "/api/health", "/api/projects", "/api/missions",
                f"/api/missions/{SLUG}/board", f"/api/missions/{SLUG}/events",
                f"/api/missions/{SLUG}/artifacts", f"/api/missions/{SLUG}/artifacts/spec",
                f"/api/missions/{SLUG}/artifacts/WP01", "/api/projects/repo/missions"]:
        assert client.get(url).status_code == 200, url
    assert _tree(repo) == before
    assert not (repo / "kitty-specs" / SLUG / "status.json").exists()


def test_the_page_and_its_assets_are_served_with_a_strict_policy(shared: TestClient) -> None:
    client = shared
    page = client.get("/")
    assert page.status_code == 200
    assert '<script src="/static/dashboard.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    script = client.get("/static/dashboard.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert "http://" not in page.text and "https://" not in page.text


@pytest.mark.parametrize("path", [
    "/static/../api.py", "/static/%2e%2e/api.py", "/static/..%2fapi.py",
    "/static/%2e%2e%2f%2e%2e%2fcore%2ferrors.py", "/static//etc/passwd",
    "/static/../../../../etc/passwd", "/static/dashboard.js/..", "/static/",
    "/static/%2fetc%2fpasswd", "/static/..\\api.py",
])
def test_static_files_cannot_be_escaped(shared: TestClient, path: str) -> None:
    response = shared.get(path)
    assert response.status_code == 404
    assert "root:" not in response.text and "import" not in response.text


def test_only_shipped_static_files_are_on_the_allow_list() -> None:
    files = assets.static_files()
    assert {"index.html", "dashboard.js", "dashboard.css", "board.js", "board.css"} <= set(files)
    roots = (assets.STATIC_DIR.resolve(), assets.SHARED_DIR.resolve())
    assert all(any(path.resolve().is_relative_to(root) for root in roots)
               for path in files.values())
    assert not any(name.endswith(".py") for name in files)


def test_shutdown_needs_the_token(repo: Path) -> None:
    calls: list[str] = []
    client = client_for(repo, request_shutdown=lambda: calls.append("stop"))
    assert client.get("/api/shutdown").status_code == 405
    assert client.post("/api/shutdown").status_code == 403
    wrong = client.post("/api/shutdown", headers={TOKEN_HEADER: "nope"})
    assert wrong.status_code == 403 and wrong.json()["error_code"] == "INVALID_TOKEN"
    assert client.post(f"/api/shutdown?token={TOKEN}").status_code == 403
    ok = client.post("/api/shutdown", headers={TOKEN_HEADER: TOKEN})
    assert ok.status_code == 202 and ok.json()["stopping"] is True
    deadline = time.monotonic() + 2
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert calls == ["stop"]


def test_foreign_host_names_are_refused(shared: TestClient) -> None:
    client = shared
    assert client.get("/api/missions", headers={"Host": "evil.example:9237"}).status_code == 400
    assert client.get("/api/missions", headers={"Host": "localhost:9237"}).status_code == 200


def test_several_projects_are_served_under_their_keys(repo: Path, tmp_path: Path) -> None:
    second = tmp_path / "second" / "repo"  # same directory name: the key must differ
    (second / ".kittify").mkdir(parents=True)
    make_mission(second, slug="beta-01JBETA00", mission_id="01JBETA0000000000000000000")
    client = client_for(repo, second)
    projects = client.get("/api/projects").json()["projects"]
    assert [p["key"] for p in projects] == ["repo", "repo-2"]
    beta = client.get("/api/projects/repo-2/missions").json()
    assert [m["slug"] for m in beta["missions"]] == ["beta-01JBETA00"]
    first = client.get("/api/projects/repo/missions").json()
    assert first["missions"] == client.get("/api/missions").json()["missions"]
    board = client.get("/api/projects/repo-2/missions/beta/board").json()
    assert board["project"] == "repo-2" and board["mission"]["slug"] == "beta-01JBETA00"
    missing = client.get("/api/projects/nope/missions")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "DASHBOARD_PROJECT_NOT_FOUND"


def test_the_lifespan_starts_the_watcher_and_stops_it(repo: Path) -> None:
    app = create_app(served_projects([repo]), token=TOKEN, watch=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/health").json()["status"] == "ok"
    # Shutdown returned (the lifespan bounds its wait for each watcher) and ended every
    # stream; how fast depends on the machine, so it is not asserted (issue 9 §10).
    assert app.state.dashboard.feed.closed


def test_changes_are_attributed_to_missions(tmp_path: Path) -> None:
    specs = tmp_path / "kitty-specs"
    paths = {str(specs / "a-1" / "status.events.jsonl"), str(specs / "b-2" / "tasks" / "WP01.md"),
             str(specs / ".hidden"), str(tmp_path / "elsewhere.txt"), str(specs / "a-1")}
    assert changed_missions(specs, paths) == ["a-1", "b-2"]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_dashboard_package_never_imports_the_cli() -> None:
    package = assets.STATIC_DIR.parent
    offenders = [f"{path.name}: {name}" for path in package.rglob("*.py")
                 for name in _imports(path) if name.startswith("spec_kitty.cli")]
    assert offenders == []


def test_the_cli_command_loads_no_web_stack() -> None:
    code = ("import sys, spec_kitty.cli.commands.dashboard_cmd, spec_kitty.dashboard.launcher; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'watchfiles', 'markdown_it') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.replace("'", '"')) == []


def test_the_sync_panel_reads_nothing_with_hosted_sync_off(repo: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPEC_KITTY_ENABLE_SAAS_SYNC", raising=False)
    response = client_for(repo).get("/api/sync")
    assert response.status_code == 200 and response.json() == {"enabled": False}


def test_the_sync_panel_names_what_blocks_delivery(repo: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    monkeypatch.setenv("SPEC_KITTY_HOME", str(tmp_path / "nobody-home"))
    monkeypatch.delenv("SPEC_KITTY_SAAS_URL", raising=False)
    state = client_for(repo).get("/api/sync").json()
    assert state["enabled"] is True and state["drain_ready"] is False
    assert "no_auth" in {b["code"] for b in state["blockers"]}
    assert state["queued"] == 0 and state["last_delivered"] is None
    assert state["mission_base_url"] is None
