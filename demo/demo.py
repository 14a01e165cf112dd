"""`make demo`: the spec-kitty loop end to end in a throwaway git repository.

Every step runs the real `spec-kitty` binary as a subprocess and shows its output,
so what you see is exactly what an agent would see.
"""

from __future__ import annotations

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


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="spec-kitty-demo-"))
    demo = Demo(base / "todo-app")
    print(f"{BOLD}spec-kitty demo{RESET} in {demo.root}")
    setup_repository(demo)
    initialise(demo)
    print(f"\n{BOLD}Demo finished.{RESET} The project is at {demo.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
