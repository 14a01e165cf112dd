"""`make demo`: the spec-kitty loop end to end in a throwaway git repository.

You play the user: you set up the repository, run `spec-kitty init`, give a brief and
ask an agent to specify a mission. From then on two scripted agents (claude and codex,
no language model) drive the mission the way a real agent would: they run only the
commands written in the generated command files, the prompt files `spec-kitty next`
hands them and its JSON answers (see scripted_agent.py). The project forbids
self-review, so they review each other's work; one review sends a work package back
with feedback, which the next implementer reads in its prompt. At the end the merged
code's tests run and the live dashboard shows the board, then it is stopped.

Environment: SPEC_KITTY_DEMO_DIR (where to build it, default a new temp directory),
KEEP_DASHBOARD=1 (leave the dashboard running and print how to stop it).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from scripted_agent import ScriptedAgent

BIN = Path(sys.executable).parent
CLI = str(BIN / "spec-kitty")
AGENTS = ("claude", "codex")

BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


class Demo:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "todo-app"
        self.env = {
            **os.environ,
            # Like a user who activated the venv: `spec-kitty` is on PATH for the agents.
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "Demo User",
            "GIT_AUTHOR_EMAIL": "demo@example.com",
            "GIT_COMMITTER_NAME": "Demo User",
            "GIT_COMMITTER_EMAIL": "demo@example.com",
            "SPEC_KITTY_NON_INTERACTIVE": "1",
            "SPEC_KITTY_HOME": str(base / "spec-kitty-home"),
            "COLUMNS": os.environ.get("COLUMNS", "130"),
        }
        self.env.pop("SPEC_KITTY_ACTOR", None)  # the agents say who they are

    def step(self, title: str) -> None:
        print(f"\n{BOLD}== {title}{RESET}")

    def sh(self, *argv: str, check: bool = True, show_output: bool = True,
           env_extra: dict[str, str] | None = None) -> str:
        shown = " ".join(shlex.quote(a) for a in argv).replace(CLI, "spec-kitty")
        print(f"{DIM}$ {shown}{RESET}")
        proc = subprocess.run(list(argv), cwd=self.root, env={**self.env, **(env_extra or {})},
                              text=True, capture_output=True)
        if show_output and proc.stdout.strip():
            print(proc.stdout.rstrip())
        if proc.stderr.strip():
            print(proc.stderr.rstrip(), file=sys.stderr)
        if check and proc.returncode != 0:
            raise SystemExit(f"demo step failed (exit {proc.returncode}): {shown}")
        return proc.stdout

    def sk(self, *args: str, **kwargs: Any) -> str:
        return self.sh(CLI, *args, **kwargs)


def set_up(demo: Demo) -> None:
    demo.step("You: a fresh git repository")
    demo.root.mkdir(parents=True)
    demo.sh("git", "init", "-q", "-b", "main")
    (demo.root / "README.md").write_text("# Todo app\n")
    demo.sh("git", "add", "README.md")
    demo.sh("git", "commit", "-q", "-m", "Initial commit")
    demo.step("You: spec-kitty init (config, merge drivers in .git/config, agent files)")
    demo.sk("init", ".", "--ai", "claude,codex,gemini", "--non-interactive")
    print("The status merge drivers init registered (an absolute interpreter path):")
    demo.sh("git", "config", "--get-regexp", r"^merge\.spec-kitty")
    with (demo.root / ".kittify" / "config.yaml").open("a") as config:
        config.write("review:\n  allow_self_review: false\n")
    print("(and .kittify/config.yaml now says review.allow_self_review: false)")
    demo.sk("verify-setup")
    demo.step("You: a brief and the project's charter")
    brief = demo.root / "brief.md"
    brief.write_text("# Todo app\n\nA tiny terminal todo list: add, complete and list tasks.\n")
    demo.sk("intake", "brief.md")
    brief.unlink()
    demo.sk("charter", "init")
    demo.sh("git", "add", "-A")
    demo.sh("git", "commit", "-q", "-m", "Set up spec-kitty")


def run_agents(demo: Demo, transcript: Path) -> str:
    def say(line: str) -> None:
        if line:
            print(line)

    agents = [ScriptedAgent(key, demo.root, demo.env, transcript, say) for key in AGENTS]
    demo.step("You to claude: /spec-kitty.specify a terminal todo app")
    slug = agents[0].specify("todo-app", "Todo app", "A terminal todo list")
    demo.step(f"You to both agents: /spec-kitty.next --mission {slug}")
    idle = 0
    for turn in range(40):
        agent = agents[turn % len(agents)]
        outcome = agent.drive(slug)
        if outcome == "terminal":
            return slug
        idle = idle + 1 if _unchanged(demo, slug) else 0
        if idle >= 2 * len(agents):
            raise SystemExit("every agent is blocked and nothing changes: stopping")
    raise SystemExit("the agents did not finish the mission")


_last_state: dict[str, str] = {}


def _unchanged(demo: Demo, slug: str) -> bool:
    log = (demo.root / "kitty-specs" / slug / "status.events.jsonl").read_text()
    unchanged = _last_state.get(slug) == log
    _last_state[slug] = log
    return unchanged


def show_results(demo: Demo, slug: str) -> None:
    demo.step("History: every lane's commits, the review round trip and the status commits")
    demo.sh("git", "log", "--graph", "--oneline", "--decorate=short", "-n", "40")
    demo.step("The review feedback the implementer got, kept in the mission")
    for path in sorted((demo.root / "kitty-specs" / slug / "reviews").glob("*.md")):
        print(f"{DIM}{path.relative_to(demo.root)}{RESET}\n{path.read_text().rstrip()}")
    demo.step("The final board")
    demo.sk("status", "--mission", slug)
    demo.step("The merged code works")
    demo.sh(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
            env_extra={"PYTHONPATH": "src"})


def dashboard(demo: Demo, slug: str) -> None:
    demo.step("The live dashboard for the demo project")
    started = json.loads(demo.sk("dashboard", "--json", show_output=False))
    url = started["url"]
    with urllib.request.urlopen(f"{url}api/missions/{slug}/board", timeout=10) as response:
        board = json.load(response)
    counts = ", ".join(f"{c['label']} {c['count']}" for c in board["columns"] if c["count"])
    print(f"Dashboard at {BOLD}{url}{RESET} (pid {started['pid']}) serves the board: {counts}")
    stop = f"cd {shlex.quote(str(demo.root))} && {shlex.quote(CLI)} dashboard --kill"
    if os.environ.get("KEEP_DASHBOARD") == "1":
        print(f"It keeps running. Stop it with:\n  {stop}")
        return
    demo.sk("dashboard", "--kill")
    print(f"Stopped. To look at it yourself:\n  cd {shlex.quote(str(demo.root))} && "
          f"{shlex.quote(CLI)} dashboard --open")


def main() -> int:
    chosen = os.environ.get("SPEC_KITTY_DEMO_DIR")
    base = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="spec-kitty-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    demo = Demo(base)
    transcript = base / "agent-transcript.jsonl"
    print(f"{BOLD}spec-kitty demo{RESET} in {demo.root}")
    set_up(demo)
    slug = run_agents(demo, transcript)
    show_results(demo, slug)
    dashboard(demo, slug)
    print(f"\n{BOLD}Demo finished.{RESET} The project is at {demo.root}; every command the "
          f"agents ran, with the text it came from: {transcript}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
