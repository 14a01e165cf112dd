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

    def sh(self, *argv: str, check: bool = True, show: bool = True) -> str:
        shown = " ".join(shlex.quote(a) for a in argv).replace(CLI, "spec-kitty")
        if show:
            print(f"{DIM}$ {shown}{RESET}")
        proc = subprocess.run(list(argv), cwd=self.root, env=self.env, text=True,
                              capture_output=True)
        if show and proc.stdout.strip():
            print(proc.stdout.rstrip())
        if proc.stderr.strip():
            print(proc.stderr.rstrip(), file=sys.stderr)
        if check and proc.returncode != 0:
            raise SystemExit(f"demo step failed (exit {proc.returncode}): {shown}")
        return proc.stdout

    def sk(self, *args: str, **kwargs: bool) -> str:
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


WORK_PACKAGES = {
    "WP01": ("Task storage", ["T001", "T002"]),
    "WP02": ("Command-line interface", ["T003"]),
    "WP03": ("User documentation", ["T004"]),
}


def hand_written_mission(demo: Demo) -> str:
    """A mission folder as finalize-tasks leaves it: meta.json, WP files, seeded log."""
    from ulid import ULID

    mission_id = str(ULID())
    slug = f"status-walkthrough-{mission_id[:8]}"
    folder = demo.root / "kitty-specs" / slug
    (folder / "tasks").mkdir(parents=True)
    meta = {"created_at": "2026-11-21T09:00:00+00:00", "friendly_name": "Status walkthrough",
            "mission_id": mission_id, "mission_number": None, "mission_slug": slug,
            "mission_type": "software-dev", "slug": "status-walkthrough",
            "target_branch": "main"}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    rows = []
    for index, (wp_id, (title, subtasks)) in enumerate(WORK_PACKAGES.items()):
        (folder / "tasks" / f"{wp_id}-{title.lower().replace(' ', '-')}.md").write_text(
            f"---\nwork_package_id: {wp_id}\ntitle: {title}\nsubtasks: [{', '.join(subtasks)}]\n"
            f"dependencies: []\n---\n# {wp_id}: {title}\n")
        rows.append({"actor": "finalize-tasks", "at": f"2026-11-21T09:00:0{index}.000000+00:00",
                     "event_id": str(ULID()), "evidence": None, "execution_mode": "worktree",
                     "force": False, "from_lane": "genesis", "mission_id": mission_id,
                     "mission_slug": slug, "policy_metadata": None, "reason": None,
                     "review_ref": None, "to_lane": "planned", "wp_id": wp_id})
    (folder / "status.events.jsonl").write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return slug


def walk_status_lanes(demo: Demo) -> None:
    demo.step("A mission folder with three work packages (written by hand for now)")
    slug = hand_written_mission(demo)
    demo.sk("status", "--mission", slug)
    approval = json.dumps({"review": {"reviewer": "demo-reviewer", "verdict": "approved",
                                      "reference": "review-1"}})
    moves = [
        ("claim WP01", ["move-task", "WP01", "--to", "claimed"]),
        ("start WP01 in its workspace", ["move-task", "WP01", "--to", "in_progress"]),
        ("finish its subtasks", ["mark-status", "T001", "T002", "--status", "done"]),
        ("hand WP01 to review", ["move-task", "WP01", "--to", "for_review", "--note",
                                 "ready for review"]),
        ("a reviewer picks it up", ["move-task", "WP01", "--to", "in_review", "--actor",
                                    "demo-reviewer"]),
        ("approve it", ["move-task", "WP01", "--to", "approved", "--evidence-json", approval]),
        ("merge marks it done", ["move-task", "WP01", "--to", "done", "--evidence-json",
                                 approval]),
    ]
    for title, args in moves:
        demo.step(title)
        demo.sk("agent", "tasks", *args, "--mission", slug)
        demo.sk("status", "--mission", slug)
    demo.step("The event log is the truth; status.json is derived from it")
    demo.sk("agent", "status", "validate", "--mission", slug)
    print((demo.root / "kitty-specs" / slug / "status.events.jsonl").read_text()
          .splitlines()[-1])


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="spec-kitty-demo-"))
    demo = Demo(base / "todo-app")
    print(f"{BOLD}spec-kitty demo{RESET} in {demo.root}")
    setup_repository(demo)
    initialise(demo)
    walk_status_lanes(demo)
    print(f"\n{BOLD}Demo finished.{RESET} The project is at {demo.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
