"""A deterministic stand-in for an AI coding agent that obeys only what it is told.

It knows how to write documents and code (``knowledge``), but not how to drive
spec-kitty: every command it runs is read out of a command file
(``.claude/commands/spec-kitty.<name>.md`` or a skill file), a prompt file named in a
JSON answer, or a JSON answer itself, and only ``<placeholders>`` are filled in, with
values it was given (the mission slug from the create answer, a file it wrote). Each
command is recorded with the text it came from in a transcript, so a test can prove
that nothing was run from hidden knowledge.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import knowledge
import prompt_reading as read

Printer = Callable[[str], None]


@dataclass
class Outcome:
    """What a command did: exit status and its JSON answer (``{}`` when not JSON)."""

    code: int
    answer: dict[str, Any]
    text: str


@dataclass
class ScriptedAgent:
    key: str  # claude, codex, ...
    root: Path
    env: dict[str, str]
    transcript: Path
    say: Printer = print
    values: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    # -- running what the text says ----------------------------------------------------

    def _command_file(self, name: str) -> Path:
        claude = self.root / ".claude" / "commands" / f"spec-kitty.{name}.md"
        skill = self.root / ".agents" / "skills" / f"spec-kitty.{name}" / "SKILL.md"
        return claude if self.key == "claude" else skill

    def run(self, template: str, source: Path, source_text: str) -> Outcome:
        """Run one command written in ``source_text``, filling its placeholders."""
        assert template in source_text, (template, source)
        command = read.fill(template, {**self.values, "agent-key": self.key})
        with self.transcript.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"agent": self.key, "source": str(source),
                                  "template": template, "command": command,
                                  "source_text": source_text}) + "\n")
        argv = shlex.split(command)
        if argv[0] == "cd":
            self.cwd = Path(argv[1])
            self.say(f"[{self.key}] $ {command}")
            return Outcome(0, {}, "")
        cwd = self.cwd or self.root
        self.say(f"[{self.key}] $ {command}")
        proc = subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True)
        try:
            answer = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
        except ValueError:
            answer = {}
        self.say(self._summary(argv, proc, answer))
        return Outcome(proc.returncode, answer, proc.stdout)

    def _summary(self, argv: list[str], proc: Any, answer: dict[str, Any]) -> str:
        if argv[0] == "git":
            return "\n".join(f"      {line}" for line in proc.stdout.splitlines()[:6])
        if "error" in answer:
            return f"      → {answer.get('error_code')}: {answer['error']}"
        if "kind" in answer:
            what = " ".join(str(answer[k]) for k in ("action", "wp_id") if answer.get(k))
            return f"      → {answer['kind']} {what} ({answer.get('reason', '')})"
        shown = {k: answer[k] for k in ("result", "wp_id", "new_lane", "commit_hash",
                                        "merge_commit", "phase_complete", "would_merge")
                 if k in answer}
        return f"      → {json.dumps(shown)}" if shown else ""

    def _must(self, outcome: Outcome, what: str) -> Outcome:
        if outcome.code != 0:
            raise SystemExit(f"[{self.key}] {what} failed: {outcome.text or outcome.answer}")
        return outcome

    def _run_steps(self, body: str, source: Path, text: str,
                   work: Callable[[], None]) -> Outcome | None:
        """Numbered steps in order: commands are run, a step without a spec-kitty
        command is work for the agent itself (after any cd/git it names)."""
        last = None
        for step in read.steps(body):
            for template in step.commands:
                last = self.run(template, source, text)
                if not template.startswith("spec-kitty next "):
                    self._must(last, template)
            if not step.runs_spec_kitty:
                work()
        return last

    # -- /spec-kitty.specify -----------------------------------------------------------

    def specify(self, slug: str, title: str, tldr: str) -> str:
        """Follow ``/spec-kitty.specify``; returns the mission slug it created."""
        source = self._command_file("specify")
        text = source.read_text()
        self.say(f"\n[{self.key}] follows {source.relative_to(self.root)}")
        self.values.update({"slug": slug, "Title": title, "one line": tldr})

        def work() -> None:
            if "mission_slug" in self.values and not self.values.get("spec_written"):
                knowledge.write_spec(Path(self.values["spec_file"]))
                self.values["spec_written"] = "yes"

        for step in read.steps(read.without_fences(text)):
            for template in step.commands:
                answer = self._must(self.run(template, source, text), template).answer
                if "mission_slug" in answer and "spec_file" in answer:
                    self.values["mission_slug"] = answer["mission_slug"]
                    self.values["spec_file"] = answer["spec_file"]
            if not step.runs_spec_kitty:
                work()
        return self.values["mission_slug"]

    # -- /spec-kitty.next --------------------------------------------------------------

    def drive(self, mission_slug: str) -> str:
        """Follow ``/spec-kitty.next`` until it answers blocked or terminal."""
        self.values["mission_slug"] = mission_slug
        source = self._command_file("next")
        text = source.read_text()
        self.say(f"\n[{self.key}] follows {source.relative_to(self.root)}")
        first = read.steps(read.without_fences(text))[0].commands[0]
        answer = self.run(first, source, text).answer
        bullets = read.kind_bullets(read.without_fences(text))
        while True:
            kind = answer.get("kind")
            if kind == "query":
                (template,) = [c for c in read.commands(bullets["query"])
                               if c.startswith("spec-kitty ")]
                answer = self.run(template, source, text).answer
            elif kind == "step":
                answer = self.follow(Path(answer["prompt_file"]), answer)
            elif kind in ("blocked", "terminal"):
                for failure in answer.get("guard_failures") or []:
                    self.say(f"      · {failure}")
                return kind
            else:
                raise SystemExit(f"[{self.key}] next answered something unknown: {answer}")

    def follow(self, prompt: Path, decision: dict[str, Any]) -> dict[str, Any]:
        """Do one step by its prompt file; returns the answer of its closing next call."""
        text = prompt.read_text()
        self.cwd = None
        action, wp_id = decision["action"], decision.get("wp_id")
        self.say(f"\n[{self.key}] reads {prompt.name}: {action} {wp_id or ''}".rstrip())
        done = {"work": False}

        def work() -> None:
            if not done["work"]:
                done["work"] = True
                self._work(action, wp_id, text)

        last: Outcome | None = None
        for heading, body in read.sections(text):
            if heading == "Verdict":
                last = self._verdict(wp_id, body, prompt, text)
            elif heading in ("Before you start", "Start", "What to do", "When done"):
                last = self._run_steps(body, prompt, text, work) or last
        if last is None or "kind" not in last.answer:
            raise SystemExit(f"[{self.key}] {prompt} did not end with a next decision")
        return last.answer

    # -- the agent's own work ----------------------------------------------------------

    def _work(self, action: str, wp_id: str | None, prompt: str) -> None:
        mission_dir = self.root / "kitty-specs" / self.values["mission_slug"]
        if action == "specify":
            knowledge.write_spec(mission_dir / "spec.md")
        elif action == "plan":
            knowledge.write_plan(mission_dir / "plan.md")
        elif action == "tasks":
            knowledge.write_tasks(mission_dir)
        elif action == "implement" and wp_id:
            self._implement(wp_id, prompt)
        self.say(f"[{self.key}] ({action} work done)")

    def _implement(self, wp_id: str, prompt: str) -> None:
        workspace = self.cwd or self.root
        feedback = read.section(prompt, "Review feedback to address")
        if feedback:
            self.say(f"[{self.key}] the reviewer asked: "
                     + " ".join(ln.lstrip("> ") for ln in feedback.splitlines()
                                if ln.startswith(">")).strip())
        files = knowledge.implement(workspace, wp_id, feedback)
        title = knowledge.WORK_PACKAGES[wp_id][0]
        message = f"{wp_id}: {title}" + (" (review feedback)" if feedback else "")
        subprocess.run(["git", "add", *files], cwd=workspace, env=self.env, check=True)
        staged = subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=workspace,
                                env=self.env).returncode != 0
        if staged:
            subprocess.run(["git", "commit", "-q", "-m", message], cwd=workspace,
                           env=self.env, check=True)

    def _verdict(self, wp_id: str | None, body: str, source: Path, text: str) -> Outcome:
        options = read.choices(body)
        # The prompt quotes an earlier review's feedback when there was one: then the
        # round trip has happened and the fix is in the diff.
        earlier = read.section(text, "The previous review asked for")
        reject = wp_id == knowledge.REJECTED_ONCE and not earlier
        label = "Send back" if reject else "Approve"
        if reject:
            feedback = self.root.parent / f"review-{wp_id}.md"
            feedback.write_text(knowledge.REVIEW_FEEDBACK)
            self.values["file"] = str(feedback)
        (template,) = [c for c in read.commands(options[label])
                       if c.startswith("spec-kitty ")]
        return self._must(self.run(template, source, text), label)
