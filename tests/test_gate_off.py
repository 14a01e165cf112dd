"""With the rollout gate off, the whole local loop touches nothing outside the project.

Every command of the loop (init → intake/charter (init, show, context) → mission
create → spec → plan → finalize-tasks → next → implement (both spellings) → review →
approve → accept → merge, plus status, boards, validation, verify-setup and the refused
hosted commands) runs as a real subprocess with HOME pointing at an empty directory and
a hub URL configured, and with an audit hook (tests/audit_hook/sitecustomize.py, PEP 578)
recording every socket connection, process launch and file write of every Python process
involved, git's merge-driver and hook invocations of spec-kitty included. The dashboard
is left out: it is a local server by design and covered by its own lifecycle tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from execution_helpers import implement_all
from spec_kitty.hosted.gate import OFF_MESSAGE

from helpers import git, make_git_repo, parse_one_json, run_cli
from planning_helpers import plan_mission

AUDIT_DIR = Path(__file__).parent / "audit_hook"


@pytest.fixture
def sealed_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An empty HOME, a private TMPDIR, git identity outside HOME, the audit hook on."""
    dirs = {name: tmp_path / name for name in ("home", "tmp", "gitcfg", "audit", "work")}
    for path in dirs.values():
        path.mkdir()
    gitconfig = dirs["gitcfg"] / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n"
                         "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    pythonpath = os.pathsep.join(filter(None, [str(AUDIT_DIR), os.environ.get("PYTHONPATH")]))
    for key, value in {
        "HOME": dirs["home"], "TMPDIR": dirs["tmp"], "GIT_CONFIG_GLOBAL": gitconfig,
        "XDG_CONFIG_HOME": dirs["home"] / ".config", "XDG_CACHE_HOME": dirs["home"] / ".cache",
        "XDG_DATA_HOME": dirs["home"] / ".local/share",
        "SPEC_KITTY_HOME": dirs["home"] / ".spec-kitty",
        "SPEC_KITTY_SAAS_URL": "https://hub.example.com",
        "SK_AUDIT_LOG": dirs["audit"] / "events.jsonl", "PYTHONPATH": pythonpath,
        "PYTHONDONTWRITEBYTECODE": "1",
    }.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("SPEC_KITTY_ENABLE_SAAS_SYNC", raising=False)
    return dirs


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _outside(path: str, allowed: list[Path]) -> bool:
    real = os.path.realpath(path)
    if real in ("/dev/null", "/dev/tty") or os.path.basename(real).startswith(".coverage"):
        return False  # coverage data of the test harness itself
    return not any(real == str(root) or real.startswith(str(root) + os.sep) for root in allowed)


def run_local_loop(repo: Path) -> list[str]:
    """Every local-loop command once; returns the commands run (for the report)."""
    ran: list[str] = []

    def cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
        proc = run_cli(list(args), repo)
        assert proc.returncode in ok, f"{args}: {proc.stdout}{proc.stderr}"
        ran.append(" ".join(args[:3]))
        return proc.stdout

    cli("--version")
    shown = cli("--help")
    assert "tracker" not in shown and "issue-search" not in shown  # hosted groups hidden
    cli("init", ".", "--ai", "claude,codex", "--non-interactive")
    cli("verify-setup", "--json")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec-kitty init")
    (repo / "brief.md").write_text("# Todo\n\nA todo list.\n")
    cli("intake", "brief.md", "--json")
    (repo / "brief.md").unlink()
    cli("charter", "init", "--json")
    cli("charter", "show", "--json")
    cli("charter", "context", "--action", "specify", "--json")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "brief and charter")
    mission_dir = plan_mission(repo)  # create, spec-commit, setup-plan x2, finalize-tasks
    slug = mission_dir.name
    ran += ["agent mission create", "agent mission spec-commit", "agent mission setup-plan",
            "agent mission finalize-tasks"]
    cli("mission", "list", "--json")
    cli("mission", "types", "--json")
    cli("next", "--agent", "claude", "--mission", slug, "--json")
    # A bound tracker: lane changes must still start no ticket mover (no process, no HTTP).
    config = repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "tracker:\n  provider: github\n"
                      "  binding_ref: srm_gate_off\n")
    git(repo, "commit", "-qam", "tracker binding")
    cli("implement", "WP01", "--agent", "claude", "--mission", slug, "--json")  # the root alias
    implement_all(repo, slug)  # implement, mark-status, move-task, review, approve x4
    ran += ["agent action implement", "agent tasks mark-status", "agent tasks move-task",
            "agent action review"]
    cli("status", "--mission", slug)
    cli("status", "--all", "--json")
    cli("agent", "tasks", "status", "--mission", slug, "--json")
    cli("agent", "status", "validate", "--mission", slug, "--json")
    cli("agent", "status", "materialize", "--mission", slug, "--json")
    cli("accept", "--mission", slug, "--json")
    cli("merge", "--mission", slug, "--dry-run", "--json")
    cli("merge", "--mission", slug, "--json")
    cli("next", "--agent", "claude", "--mission", slug, "--json", ok=(0, 1))
    # Hosted commands refuse without reading, writing or connecting anything.
    for hosted in (["auth", "login", "--headless"], ["auth", "status", "--json"],
                   ["auth", "logout"], ["auth", "doctor"], ["auth"], ["tracker"],
                   ["tracker", "status", "--json"], ["tracker", "project", "--mission", slug],
                   ["issue-search", "--provider", "github", "--query", "#1"],
                   ["mission", "create", "--from-ticket", "github:#1"]):
        proc = run_cli(hosted, repo)
        assert proc.returncode == 1, hosted
        assert OFF_MESSAGE in proc.stdout + proc.stderr
        ran.append(" ".join(hosted))
    for hosted in (["sync", "status", "--json"], ["sync", "backfill"], ["sync", "diagnose"],
                   ["sync", "server", "https://hub.example.com"], ["sync"]):
        proc = run_cli(hosted, repo)
        assert proc.returncode == 1, hosted
        assert OFF_MESSAGE in proc.stdout + proc.stderr
        ran.append(" ".join(hosted))
    proc = run_cli(["sync", "now"], repo)  # nothing to do: exit 0
    assert proc.returncode == 0 and OFF_MESSAGE in proc.stdout
    ran.append("sync now")
    return ran


def violations(events: list[dict], allowed: list[Path]) -> dict[str, list[dict]]:
    """Connections, launches of anything but git, and writes outside ``allowed``."""
    path_events = [e for e in events if e["event"] == "write" or e["event"] in
                   ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link",
                    "os.chmod", "os.truncate", "shutil.rmtree", "shutil.copyfile",
                    "sqlite3.connect")]
    return {
        "network": [e for e in events if e["event"].startswith("socket.")],
        "processes": [e for e in events if (
            e["event"] == "subprocess.Popen"
            and os.path.basename(e["detail"]["executable"]) != "git")
            or e["event"] in ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                              "os.forkpty", "pty.spawn")],
        "writes": [e for e in path_events if any(
            _outside(p, allowed) for p in
            ([e["detail"]] if isinstance(e["detail"], str) else e["detail"] or []))],
    }


@pytest.mark.slow
def test_gate_off_local_loop_stays_inside_the_project(sealed_env: dict[str, Path]) -> None:
    repo = make_git_repo(sealed_env["work"] / "repo")
    ran = run_local_loop(repo)
    assert sorted(sealed_env["home"].rglob("*")) == []  # HOME untouched, no ~/.spec-kitty
    events = _events(sealed_env["audit"] / "events.jsonl")
    started = [e for e in events if e["event"] == "start"
               and e["argv"] and e["argv"][0].endswith("spec-kitty")]
    assert len(started) >= len(ran)  # the hook ran in every CLI process
    found = violations(events, [repo.resolve(), sealed_env["tmp"].resolve()])
    assert found == {"network": [], "processes": [], "writes": []}, found
    assert any(e["event"] == "subprocess.Popen" for e in events)  # git runs were seen
    assert any(e["event"] == "write" and e["detail"].startswith(str(repo.resolve()))
               for e in events)  # and so were the project's own writes


def test_the_audit_catches_connections_launches_and_stray_writes(
        sealed_env: dict[str, Path]) -> None:
    """The detector is not vacuous: a process that does all three is flagged for each."""
    import subprocess
    import sys

    script = ("import socket, subprocess, os, pathlib\n"
              "s = socket.socket(); s.settimeout(0.2)\n"
              "try: s.connect(('127.0.0.1', 9))\n"
              "except OSError: pass\n"
              "subprocess.run(['true'])\n"
              "pathlib.Path(os.environ['HOME'], 'stray.txt').write_text('x')\n")
    subprocess.run([sys.executable, "-c", script], check=True, env=os.environ.copy())
    found = violations(_events(sealed_env["audit"] / "events.jsonl"),
                       [sealed_env["work"], sealed_env["tmp"]])
    assert len(found["network"]) == 1 and "9" in found["network"][0]["detail"]
    assert [os.path.basename(e["detail"]["executable"]) for e in found["processes"]] == ["true"]
    assert [e["detail"] for e in found["writes"]] == [str(sealed_env["home"] / "stray.txt")]


def test_hosted_commands_with_the_gate_off_write_nothing_anywhere(
        sealed_env: dict[str, Path]) -> None:
    work = sealed_env["work"]
    proc = run_cli(["auth", "login", "--json"], work)
    assert proc.returncode == 1
    assert parse_one_json(proc.stdout)["error_code"] == "ROLLOUT_DISABLED"
    assert sorted(sealed_env["home"].rglob("*")) == []
    assert sorted(work.rglob("*")) == []
    events = _events(sealed_env["audit"] / "events.jsonl")
    assert violations(events, []) == {"network": [], "processes": [], "writes": []}
    assert [e["event"] for e in events if e["event"] == "start"] == ["start"]
