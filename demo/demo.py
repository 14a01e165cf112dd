"""`make demo`: the spec-kitty loop end to end in a throwaway git repository.

Every step runs the real `spec-kitty` binary as a subprocess and shows its output,
so what you see is exactly what an agent would see.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import scripted_agent

BIN = Path(sys.executable).parent
CLI = str(BIN / "spec-kitty")

BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "Demo Agent",
            "GIT_AUTHOR_EMAIL": "demo@example.com",
            "GIT_COMMITTER_NAME": "Demo Agent",
            "GIT_COMMITTER_EMAIL": "demo@example.com",
            "SPEC_KITTY_NON_INTERACTIVE": "1",
            "SPEC_KITTY_HOME": str(root.parent / "spec-kitty-home"),
            "SPEC_KITTY_ACTOR": "demo-agent",
            "COLUMNS": os.environ.get("COLUMNS", "130"),
        }

    def step(self, title: str) -> None:
        print(f"\n{BOLD}== {title}{RESET}")

    def sh(self, *argv: str, check: bool = True, show: bool = True,
           show_output: bool = True, env_extra: dict[str, str] | None = None) -> str:
        shown = " ".join(shlex.quote(a) for a in argv).replace(CLI, "spec-kitty")
        if show:
            print(f"{DIM}$ {shown}{RESET}")
        proc = subprocess.run(list(argv), cwd=self.root, env={**self.env, **(env_extra or {})},
                              text=True, capture_output=True)
        if show and show_output and proc.stdout.strip():
            print(proc.stdout.rstrip())
        if proc.stderr.strip():
            print(proc.stderr.rstrip(), file=sys.stderr)
        if check and proc.returncode != 0:
            raise SystemExit(f"demo step failed (exit {proc.returncode}): {shown}")
        return proc.stdout

    def sk(self, *args: str, **kwargs: Any) -> str:
        return self.sh(CLI, *args, **kwargs)


def setup_repository(demo: Demo) -> None:
    demo.step("A fresh git repository")
    demo.root.mkdir(parents=True)
    demo.sh("git", "init", "-q", "-b", "main")
    (demo.root / "README.md").write_text("# Todo app\n")
    demo.sh("git", "add", "README.md")
    demo.sh("git", "commit", "-q", "-m", "Initial commit")


def initialise(demo: Demo) -> None:
    demo.step("spec-kitty init: config, git plumbing and agent command files")
    demo.sk("init", ".", "--ai", "claude,codex,gemini", "--non-interactive")
    demo.step("What init created")
    demo.sh("git", "status", "--short", "--untracked-files=all")
    demo.step("A generated Claude command (first lines)")
    print("\n".join((demo.root / ".claude/commands/spec-kitty.next.md").read_text()
                    .splitlines()[:16]))
    demo.step("verify-setup")
    demo.sk("verify-setup")
    demo.sh("git", "add", "-A", show=False)
    demo.sh("git", "commit", "-q", "-m", "Set up spec-kitty", show=False)


def brief_and_charter(demo: Demo) -> None:
    demo.step("A brief from the user, and the project's charter")
    brief = demo.root / "brief.md"
    brief.write_text("# Todo app\n\nA tiny terminal todo list: add, complete and list tasks.\n")
    demo.sk("intake", "brief.md")
    brief.unlink()
    demo.sk("charter", "init")
    demo.sh("git", "add", "-A", show=False)
    demo.sh("git", "commit", "-q", "-m", "Add the project charter", show=False)


def next_decision(demo: Demo, slug: str) -> dict:
    answer = json.loads(demo.sk("next", "--agent", "demo-agent", "--mission", slug,
                                "--result", "success", "--json", show=False))
    what = f"{answer['kind']}: {answer['action']}" if answer["action"] else answer["kind"]
    if answer.get("wp_id"):
        what += f" {answer['wp_id']}"
    print(f"{BOLD}next →{RESET} {what} ({answer['reason']})")
    return answer


def plan_with_next(demo: Demo) -> str:
    """The scripted agent follows `spec-kitty next` until the first implement step."""
    demo.step("The agent creates a mission")
    created = json.loads(demo.sk("agent", "mission", "create", "todo-app", "--friendly-name",
                                 "Todo app", "--purpose-tldr", "A terminal todo list",
                                 "--json", show_output=False))
    slug, mission_dir = created["mission_slug"], Path(created["feature_dir"])
    print(f"mission {slug} in {mission_dir}")
    while True:
        decision = next_decision(demo, slug)
        action = decision["action"]
        if decision["kind"] != "step" or action not in ("specify", "plan", "tasks"):
            break
        print(f"{DIM}(prompt for the agent: {decision['prompt_file']}){RESET}")
        if action == "specify":
            scripted_agent.write_spec(mission_dir / "spec.md")
            demo.sk("agent", "mission", "spec-commit", "--mission", slug)
        elif action == "plan":
            demo.sk("agent", "mission", "setup-plan", "--mission", slug)
            scripted_agent.write_plan(mission_dir / "plan.md")
            demo.sk("agent", "mission", "setup-plan", "--mission", slug)
        else:
            scripted_agent.write_tasks(mission_dir)
            demo.sk("agent", "mission", "finalize-tasks", "--mission", slug, "--validate-only",
                    "--json", show=False)
            demo.sk("agent", "mission", "finalize-tasks", "--mission", slug)
    demo.step("Execution lanes: WP01 and WP02 run in parallel, WP03 waits for both")
    lanes = json.loads((mission_dir / "lanes.json").read_text())
    for lane in lanes["lanes"]:
        after = ", ".join(lane["depends_on_lanes"]) or "nothing"
        print(f"{lane['lane_id']}: {', '.join(lane['wp_ids'])} (after {after})")
    demo.sk("status", "--mission", slug)
    return slug


def run_work_packages(demo: Demo, slug: str) -> None:
    """Implement every work package in its lane worktree, review it, approve it."""
    while True:
        decision = next_decision(demo, slug)
        if decision["kind"] != "step" or decision["action"] not in ("implement", "review"):
            return
        wp_id = decision["wp_id"]
        if decision["action"] == "implement":
            demo.step(f"Implement {wp_id} in its lane worktree")
            claim = json.loads(demo.sk("agent", "action", "implement", wp_id, "--agent",
                                       "demo-agent", "--mission", slug, "--json",
                                       show_output=False))
            workspace = Path(claim["workspace_path"])
            merged = ", ".join(claim["merged_dependency_lanes"]) or "none"
            print(f"workspace {workspace.relative_to(demo.root)} on {claim['branch']} "
                  f"({claim['status']}; dependency lanes merged in: {merged})")
            owned = scripted_agent.WORK_PACKAGES[wp_id][4]
            files = scripted_agent.implement(workspace, owned)
            demo.sh("git", "-C", str(workspace), "add", *files, show=False)
            demo.sh("git", "-C", str(workspace), "commit", "-q", "-m",
                    f"{wp_id}: {scripted_agent.WORK_PACKAGES[wp_id][0]}")
            demo.sk("agent", "tasks", "mark-status", *scripted_agent.WORK_PACKAGES[wp_id][3],
                    "--mission", slug)
            demo.sk("agent", "tasks", "move-task", wp_id, "--to", "for_review", "--mission",
                    slug)
        else:
            demo.step(f"Review {wp_id}")
            review = json.loads(demo.sk("agent", "action", "review", wp_id, "--agent",
                                        "demo-reviewer", "--mission", slug, "--json",
                                        show_output=False))
            demo.sh("git", "-C", review["workspace_path"], "log", "--oneline",
                    review["diff_range"])
            approval = json.dumps({"review": {"reviewer": "demo-reviewer", "verdict":
                                              "approved", "reference": review["diff_range"]}})
            demo.sk("agent", "tasks", "move-task", wp_id, "--to", "approved", "--actor",
                    "demo-reviewer", "--evidence-json", approval, "--mission", slug)
        demo.sk("status", "--mission", slug)


def accept_and_merge(demo: Demo, slug: str) -> None:
    demo.step("Accept the mission")
    demo.sk("accept", "--mission", slug)
    demo.step("Merge: lanes into the mission branch, then the mission into main")
    demo.sk("merge", "--mission", slug, "--dry-run")
    demo.sk("merge", "--mission", slug)
    next_decision(demo, slug)
    demo.step("History: every lane's commits are on main")
    demo.sh("git", "log", "--graph", "--oneline", "--decorate=short", "-n", "30")
    demo.step("The final board")
    demo.sk("status", "--mission", slug)
    demo.step("The merged code works")
    demo.sh(sys.executable, "-m", "pytest", "-q", "tests", env_extra={"PYTHONPATH": "src"})


def start_dashboard(demo: Demo) -> str:
    demo.step("The live dashboard for the demo project")
    started = json.loads(demo.sk("dashboard", "--json", show_output=False))
    print(f"Dashboard: {BOLD}{started['url']}{RESET}  (pid {started['pid']})")
    print(f"Stop it with: cd {demo.root} && spec-kitty dashboard --kill")
    return started["url"]


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="spec-kitty-demo-"))
    demo = Demo(base / "todo-app")
    print(f"{BOLD}spec-kitty demo{RESET} in {demo.root}")
    setup_repository(demo)
    initialise(demo)
    brief_and_charter(demo)
    slug = plan_with_next(demo)
    run_work_packages(demo, slug)
    accept_and_merge(demo, slug)
    start_dashboard(demo)
    print(f"\n{BOLD}Demo finished.{RESET} The project is at {demo.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
