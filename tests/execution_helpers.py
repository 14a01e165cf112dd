"""Drive implement → review → approve the way agents would, for execution/merge tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import git, run_cli
from planning_helpers import WPS, sk

APPROVAL = json.dumps({"review": {"reviewer": "rev", "verdict": "approved",
                                  "reference": "review-ok"}})
SUBTASKS = {wp: spec[3] for wp, spec in WPS.items()}
OWNED = {wp: spec[4][0] for wp, spec in WPS.items()}


def implement(repo: Path, slug: str, wp: str, agent: str = "claude") -> dict:
    code, result = sk(repo, "agent", "action", "implement", wp, "--agent", agent,
                      "--mission", slug)
    assert code == 0, result
    return result


def commit_work(workspace: Path, files: dict[str, str], message: str,
                no_verify: bool = False) -> str:
    for rel, text in files.items():
        path = workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        git(workspace, "add", rel)
    git(workspace, "commit", "-q", *(["--no-verify"] if no_verify else []), "-m", message)
    return git(workspace, "rev-parse", "HEAD")


def to_approved(repo: Path, slug: str, wp: str) -> None:
    assert sk(repo, "agent", "tasks", "mark-status", *SUBTASKS[wp], "--mission", slug)[0] == 0
    code, result = sk(repo, "agent", "tasks", "move-task", wp, "--to", "for_review",
                      "--mission", slug)
    assert code == 0, result
    code, result = sk(repo, "agent", "action", "review", wp, "--agent", "rev", "--mission", slug)
    assert code == 0, result
    code, result = sk(repo, "agent", "tasks", "move-task", wp, "--to", "approved", "--actor",
                      "rev", "--evidence-json", APPROVAL, "--mission", slug)
    assert code == 0, result


def implement_all(repo: Path, slug: str, extra: dict[str, dict[str, str]] | None = None,
                  no_verify: bool = False) -> dict[str, str]:
    """Implement and approve WP01..WP04 in dependency order; returns each WP's commit."""
    commits = {}
    for wp in ("WP01", "WP02", "WP03", "WP04"):
        workspace = Path(implement(repo, slug, wp)["workspace_path"])
        files = {OWNED[wp]: f"# {wp}\nVALUE = '{wp}'\n", **(extra or {}).get(wp, {})}
        commits[wp] = commit_work(workspace, files, f"{wp}: implement", no_verify)
        to_approved(repo, slug, wp)
    return commits


def all_commits(repo: Path) -> set[str]:
    return set(git(repo, "rev-list", "--all").split())


def reachable_from_refs(repo: Path, commit: str) -> bool:
    refs = git(repo, "for-each-ref", "--format=%(refname)").split()
    return any(subprocess.run(["git", "merge-base", "--is-ancestor", commit, ref], cwd=repo,
                              capture_output=True).returncode == 0 for ref in refs)


def merge(repo: Path, slug: str, *args: str, env: dict[str, str] | None = None
          ) -> tuple[int, dict]:
    proc = run_cli(["merge", "--mission", slug, *args, "--json"], repo, env=env)
    if proc.returncode < 0:  # killed by a crash point
        return proc.returncode, {}
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}


def clone_template(template: Path, dest: Path) -> tuple[Path, str, dict[str, str]]:
    """Copy a template (conftest) with its lane worktrees; (repo, slug, WP commits)."""
    import shutil

    shutil.copytree(template, dest, symlinks=True)
    repo = dest / "repo"
    admin = repo / ".git" / "worktrees"
    # Point each copied worktree and its admin dir at each other (what `git worktree
    # repair` does, except that it trusts the still-valid links into the template).
    for entry in (admin.iterdir() if admin.exists() else []):
        tree = Path((entry / "gitdir").read_text().strip()).parent
        copied = repo / tree.relative_to(template / "repo")
        (copied / ".git").write_text(f"gitdir: {entry}\n")
        (entry / "gitdir").write_text(f"{copied / '.git'}\n")
        config = entry / "config.worktree"  # the ownership hook's directory
        if config.exists():
            config.write_text(config.read_text().replace(str(template), str(dest)))
    listed = git(repo, "worktree", "list", "--porcelain")
    assert str(template) not in listed, listed
    meta = json.loads((dest / "template.json").read_text())
    return repo, meta["slug"], meta["commits"]
