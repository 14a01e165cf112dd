"""The fast path for `agent tasks status --json` and `next --json` answers exactly like typer.

Every invocation is run twice, once as usual and once with SPEC_KITTY_NO_FAST_PATH=1
(the typer application), and the outputs and exit codes must be identical; the plain
shapes must not import typer or click at all (that is the point of the fast path).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli
from missions_fixture import make_mission

STATUS = ["agent", "tasks", "status"]
MOVE = ["agent", "tasks", "move-task"]
CASES = {
    "status": [*STATUS, "--mission", "demo", "--json"],
    "status short": [*STATUS, "-m", "demo-01JDEMQ0", "--json"],
    "status equals": ["agent", "tasks", "status", "--json", "--mission=demo"],
    "status repeated": [*STATUS, "-m", "nope", "--mission", "demo", "--json"],
    "status only mission": [*STATUS, "--json"],
    "status unknown mission": [*STATUS, "--mission", "nope", "--json"],
    "status empty mission": [*STATUS, "--mission=", "--json"],
    "status human": [*STATUS, "--mission", "demo"],
    "status help": [*STATUS, "--help"],
    "status short help": [*STATUS, "-h", "--json"],
    "status unknown option": [*STATUS, "--mission", "demo", "--wat", "--json"],
    "status missing value": [*STATUS, "--json", "--mission"],
    "status dash value": [*STATUS, "--mission", "--json"],
    "next query": ["next", "--agent", "claude", "--mission", "demo", "--json"],
    "next no agent": ["next", "--mission", "demo", "--json"],
    "next success": ["next", "--agent", "claude", "-m", "demo", "--result", "success", "--json"],
    "next blocked": ["next", "--agent", "claude", "-m", "demo", "--result", "blocked", "--json"],
    "next blocked reason": ["next", "--agent", "claude", "-m", "demo", "--result", "blocked",
                            "--reason", "the API key is missing", "--json"],
    "next bad result": ["next", "--agent", "claude", "-m", "demo", "--result", "meh", "--json"],
    "next result without agent": ["next", "-m", "demo", "--result", "failed", "--json"],
    "next failed reason": ["next", "--agent", "claude", "-m", "demo", "--result", "failed",
                           "--reason", "tests fail", "--json"],
    "next equals": ["next", "--agent=claude", "--json", "--mission=demo", "--json"],
    "next positional": ["next", "extra", "--json"],
    "next help": ["next", "--help"],
    "move": [*MOVE, "WP01", "--to", "claimed", "--mission", "demo", "--json"],
    "move agent first": [*MOVE, "--agent", "claude", "WP1", "--to=claimed", "--json"],
    "move alias": [*MOVE, "WP01", "--to", "doing", "--actor", "me", "--json"],
    "move forced": [*MOVE, "WP03", "--to", "done", "--force", "--reason", "done by hand",
                    "-m", "demo", "--json"],
    "move force without reason": [*MOVE, "WP03", "--to", "done", "--force", "--json"],
    "move illegal": [*MOVE, "WP02", "--to", "approved", "--json"],
    "move unknown wp": [*MOVE, "WP09", "--to", "claimed", "--json"],
    "move bad lane": [*MOVE, "WP01", "--to", "nowhere", "--json"],
    "move upper lane": [*MOVE, "WP01", "--to", "CLAIMED", "--json"],
    "move no lane": [*MOVE, "WP01", "--json"],
    "move no wp": [*MOVE, "--to", "claimed", "--json"],
    "move two wps": [*MOVE, "WP01", "WP02", "--to", "claimed", "--json"],
    "move bad evidence": [*MOVE, "WP01", "--to", "claimed", "--evidence-json", "[1]", "--json"],
    "move evidence": [*MOVE, "WP01", "--to", "claimed", "--evidence-json",
                      '{"note": "x"}', "--note", "starting", "--json"],
    "move human": [*MOVE, "WP01", "--to", "claimed"],
    "move dash value": [*MOVE, "WP01", "--to", "claimed", "--reason", "--json"],
}


TIMESTAMP = re.compile(r'"timestamp": "[^"]*"')
EVENT_IDS = re.compile(r'"event_ids": \[[^\]]*\]')
SHA = re.compile(r'"sha": "[0-9a-f]+"')


def normalised(text: str) -> str:
    """stdout byte for byte, with wall-clock and random values blanked out: `next`'s
    timestamp, a move's new event ids (ULIDs) and its status commit (dated)."""
    text = TIMESTAMP.sub('"timestamp": "<now>"', text)
    return SHA.sub('"sha": "<sha>"', EVENT_IDS.sub('"event_ids": ["<ulid>"]', text))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fast") / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "config.yaml").write_text("agents:\n  available: [claude]\n")
    make_mission(root)
    # claude has been handed a step, so a blocked/failed report has something to be about
    handed = run_cli(["next", "--agent", "claude", "-m", "demo", "--result", "success",
                      "--json"], root)
    assert json.loads(handed.stdout)["kind"] == "step", handed.stdout
    return root


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    return root


def both_ways(template: Path, root: Path, args: list[str], env: dict[str, str]
              ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Run ``args`` on the fast path and through typer, each on a fresh copy at ``root``.

    Same path, same starting state: `next --result` records outcomes (attempt counts,
    blocks), so a second run on the same copy would rightly answer differently.
    """
    runs = []
    for extra in ({}, {"SPEC_KITTY_NO_FAST_PATH": "1"}):
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(template, root, symlinks=True)
        runs.append(run_cli(args, root, env={**env, **extra}))
    return runs[0], runs[1]


@pytest.mark.parametrize("case", list(CASES))
def test_fast_path_answers_exactly_like_typer(template: Path, tmp_path: Path, case: str) -> None:
    args = CASES[case]
    fast, slow = both_ways(template, tmp_path / "repo", args, {"COLUMNS": "120"})
    assert (fast.returncode, normalised(fast.stdout), fast.stderr) == (
        slow.returncode, normalised(slow.stdout), slow.stderr)
    if "--json" in args and fast.returncode == 1:  # TEAM.md: every exit-1 JSON names its error
        answer = json.loads(fast.stdout)
        assert answer["error"] and answer["error_code"], answer
    if case.startswith("next blocked"):  # a blocked answer is a refusal: exit 1
        answer = json.loads(fast.stdout)
        assert (fast.returncode, answer["kind"], answer["error_code"]) == (
            1, "blocked", "NEXT_BLOCKED")


@pytest.mark.parametrize("case", ["status", "status unknown mission", "next query",
                                  "next blocked", "move", "move illegal"])
def test_plain_shapes_never_import_typer(project: Path, case: str) -> None:
    probe = ("import sys\n"
             "from spec_kitty.cli.main import main\n"
             "code = main(sys.argv[1:])\n"
             "loaded = sorted(m for m in ('typer', 'click', 'rich') if m in sys.modules)\n"
             "sys.stderr.write(repr(loaded))\n"
             "sys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", probe, *CASES[case]], cwd=project,
                          capture_output=True, text=True)
    assert proc.stderr.endswith("[]"), proc.stderr
    assert json.loads(proc.stdout)


def test_broken_log_is_the_same_error_either_way(project: Path) -> None:
    other = make_mission(project, slug="broken-01JBROKE", mission_id="01JBROKE" + "0" * 18)
    log = other.path / "status.events.jsonl"
    log.write_bytes(log.read_bytes() + b"not json\n")
    args = [*STATUS, "-m", "broken", "--json"]
    fast = run_cli(args, project)
    slow = run_cli(args, project, env={"SPEC_KITTY_NO_FAST_PATH": "1"})
    assert fast.returncode == slow.returncode == 1
    assert fast.stdout == slow.stdout and '"error_code": "EVENT_LOG_INVALID"' in fast.stdout


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "ascii"])
def test_non_ascii_titles_give_the_same_bytes_either_way_on_any_stdout_encoding(
        tmp_path: Path, encoding: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "config.yaml").write_text("agents:\n  available: [claude]\n")
    make_mission(root, wps={"WP01": {"title": "Café-✓ ünïcode"}, "WP02": {"title": "日本"}})
    env = {"PYTHONIOENCODING": encoding}
    answers = []
    for args in ([*STATUS, "--json"], ["next", "--agent", "claude", "--json"]):
        fast, slow = both_ways(root, tmp_path / "copy", args, env)
        assert (fast.returncode, normalised(fast.stdout), fast.stderr) == (
            slow.returncode, normalised(slow.stdout), slow.stderr)
        answers.append(json.loads(fast.stdout))  # an answer or an error: JSON either way
    if encoding == "utf-8":  # other stdout encodings are issue 10's (cli/output.py)
        titles = [wp["title"] for wp in answers[0]["work_packages"]]
        assert titles == ["Café-✓ ünïcode", "日本"] and answers[1]["kind"] == "query"


@pytest.fixture(scope="module")
def odd_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Missions whose files the readers must read right (issue 10), one per shape."""
    root = tmp_path_factory.mktemp("fast-odd") / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "config.yaml").write_text("agents:\n  available: [claude]\n")
    no_meta = make_mission(root, slug="nometa-01JNOMET", mission_id="01JNOMET" + "0" * 18)
    (no_meta.path / "meta.json").unlink()
    cafe = make_mission(root, slug="cafe-01JCAFE0", mission_id="01JCAFE0" + "0" * 18,
                        wps={"WP01": {"title": "Café-✓"}})
    bom = cafe.path / "tasks" / "WP01-wp01.md"
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes())
    broken = make_mission(root, slug="broken-01JBROKN", mission_id="01JBROKN" + "0" * 18)
    (broken.path / "tasks" / "WP02-wp02.md").write_text(
        "---\nwork_package_id: WP02\ndependencies: [WP01\n---\n# WP02\n")
    return root


ODD_CASES = {
    "status no meta.json": [*STATUS, "-m", "nometa", "--json"],
    "next no meta.json": ["next", "--agent", "claude", "-m", "nometa", "--json"],
    "status BOM and non-ASCII": [*STATUS, "-m", "cafe", "--json"],
    "next BOM and non-ASCII": ["next", "--agent", "claude", "-m", "cafe", "--json"],
    "status unparseable WP": [*STATUS, "-m", "broken", "--json"],
    "next unparseable WP": ["next", "--agent", "claude", "-m", "broken", "--json"],
    "next compound agent": ["next", "--agent", "claude:opus:default:implementer",
                            "-m", "cafe", "--json"],
}


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
@pytest.mark.parametrize("case", list(ODD_CASES))
def test_fast_path_reads_odd_files_like_typer(odd_project: Path, case: str,
                                              encoding: str) -> None:
    env = {"COLUMNS": "120", "PYTHONIOENCODING": encoding}
    fast = run_cli(ODD_CASES[case], odd_project, env=env)
    slow = run_cli(ODD_CASES[case], odd_project,
                   env={**env, "SPEC_KITTY_NO_FAST_PATH": "1"})
    assert (fast.returncode, normalised(fast.stdout), fast.stderr) == (
        slow.returncode, normalised(slow.stdout), slow.stderr)
    answer = json.loads(fast.stdout)  # valid JSON on any stdout encoding
    assert "INTERNAL_ERROR" not in fast.stdout
    if fast.returncode == 1:
        assert answer["error"] and answer["error_code"]
