"""Issue 9 §2: prompts and command files match the tool.

Every placeholder is rendered when a file is written, `/spec-kitty.next` documents every
answer kind with the exact command that follows it, and there is one work-package
template for `/spec-kitty.tasks` and `next`'s tasks prompt.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from execution_helpers import APPROVAL, OWNED, SUBTASKS, commit_work, implement
from spec_kitty.core.agents import AGENTS, COMMANDS
from spec_kitty.repo import command_files

from helpers import git
from planning_helpers import create, fill_plan, sk, write_spec, write_tasks

KINDS = ("query", "step", "blocked", "terminal")


def test_no_command_file_of_any_agent_has_a_raw_placeholder() -> None:
    for key, spec in AGENTS.items():
        for command in COMMANDS:
            text = command_files.render(spec, command)
            # gemini and qwen substitute their own argument token, `{{args}}`, themselves.
            leftover = text.replace("{{args}}", "") if spec.arg_token == "{{args}}" else text
            assert "{{" not in leftover, (key, command)


def test_next_command_file_documents_every_kind_with_its_next_command() -> None:
    text = command_files.render(AGENTS["claude"], "next")
    bullets = {kind: re.search(rf'^\s*- `kind: "{kind}"`(.*?)(?=^\s*- `kind|^\d+\.|\Z)', text,
                               re.M | re.S) for kind in KINDS}
    assert all(bullets.values()), [k for k, v in bullets.items() if not v]
    query = bullets["query"].group(1)  # type: ignore[union-attr]
    assert "`spec-kitty next --agent claude --mission <mission_slug> --result success " \
           "--json`" in query
    assert "prompt_file" in bullets["step"].group(1)  # type: ignore[union-attr]
    assert "exit status 1" in bullets["blocked"].group(1)  # type: ignore[union-attr]
    for result in ("blocked", "failed"):
        assert f"--result {result} --reason" in text
    skill = command_files.render(AGENTS["codex"], "next")
    assert "`spec-kitty next --agent <agent-key> --mission <mission_slug> --json`" in skill


def test_tasks_command_and_next_share_one_work_package_template(initialized_repo: Path) -> None:
    template = command_files.work_package_template()
    assert "work_package_id: WP01" in template and "owned_files:" in template
    tasks_command = (initialized_repo / ".claude/commands/spec-kitty.tasks.md").read_text()
    assert template in tasks_command
    # the example dependency is a real id (WP00 would be refused by finalize-tasks)
    assert "WP00" not in tasks_command and "`**Dependencies**: WP01`" in tasks_command
    repo = initialized_repo
    created = create(repo)
    slug, mission_dir = created["mission_slug"], Path(created["feature_dir"])
    write_spec(mission_dir)
    sk(repo, "agent", "mission", "spec-commit", "--mission", slug)
    sk(repo, "agent", "mission", "setup-plan", "--mission", slug)
    fill_plan(mission_dir)
    sk(repo, "agent", "mission", "setup-plan", "--mission", slug)
    step = sk(repo, "next", "--agent", "claude", "--mission", slug, "--result", "success")[1]
    assert step["action"] == "tasks"
    assert template in Path(step["prompt_file"]).read_text()


def _prompt(step: dict) -> str:
    assert step["kind"] == "step", step
    text = Path(step["prompt_file"]).read_text()
    assert "{{" not in text, (step["action"], re.findall(r"\{\{\w+\}\}", text))
    return text


def test_every_prompt_next_writes_is_fully_rendered(initialized_repo: Path) -> None:
    repo = initialized_repo
    created = create(repo)
    slug, mission_dir = created["mission_slug"], Path(created["feature_dir"])

    def step(agent: str = "claude") -> dict:
        return sk(repo, "next", "--agent", agent, "--mission", slug, "--result", "success")[1]

    assert "spec-commit" in _prompt(step())
    write_spec(mission_dir)
    sk(repo, "agent", "mission", "spec-commit", "--mission", slug)
    assert "setup-plan" in _prompt(step())
    sk(repo, "agent", "mission", "setup-plan", "--mission", slug)
    fill_plan(mission_dir)
    sk(repo, "agent", "mission", "setup-plan", "--mission", slug)
    assert "finalize-tasks" in _prompt(step())
    write_tasks(mission_dir)
    sk(repo, "agent", "mission", "finalize-tasks", "--mission", slug)
    implement_prompt = _prompt(step())
    assert "--agent claude" in implement_prompt
    workspace = Path(implement(repo, slug, "WP01")["workspace_path"])
    work = commit_work(workspace, {OWNED["WP01"]: "x = 1\n"}, "WP01 work")
    sk(repo, "agent", "tasks", "mark-status", *SUBTASKS["WP01"], "--mission", slug)
    sk(repo, "agent", "tasks", "move-task", "WP01", "--to", "for_review", "--mission", slug)
    # codex holds WP02, WP03 and WP04 wait for dependencies: rev's next step is a review.
    sk(repo, "agent", "tasks", "move-task", "WP02", "--to", "claimed", "--agent", "codex",
       "--mission", slug)
    review = step("rev")
    assert (review["action"], review["wp_id"]) == ("review", "WP01")
    text = _prompt(review)
    diff_range = re.search(r"git -C \S+ log --oneline (\S+)`", text).group(1)  # type: ignore
    assert git(repo, "rev-list", diff_range).split() == [work]
    assert f'"reference": "{diff_range}"' in text  # the approve command is complete
    # a feedback file left in the checkout would later fail accept's clean-tree check
    assert "outside the repository" in text
    for wp in ("WP01", "WP02", "WP03", "WP04"):
        sk(repo, "agent", "tasks", "move-task", wp, "--to", "approved", "--force", "--reason",
           "test", "--evidence-json", APPROVAL, "--actor", "lead", "--mission", slug)
    assert f"spec-kitty accept --mission {slug} --agent claude --json" in _prompt(step())
    assert sk(repo, "accept", "--mission", slug)[0] == 0
    assert f"spec-kitty merge --mission {slug} --json" in _prompt(step())
    prompts = list((repo / ".kittify" / "runtime" / "prompts" / slug).glob("*.md"))
    assert len(prompts) >= 7 and not [p for p in prompts if "{{" in p.read_text()]
    assert json.loads((mission_dir / "meta.json").read_text())["accepted_by"]
