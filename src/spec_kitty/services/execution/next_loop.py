"""``spec-kitty next``: gather the facts, ask the decision engine, write the step's prompt.

Without ``--result`` this only answers a query (``kind: "query"``) and writes nothing.
With a result it is a real step: the outcome the agent reported is recorded (see
``next_outcomes``: ``blocked`` and repeated ``failed`` results become visible blocked
transitions), and a ``step`` answer comes with its prompt file under
``.kittify/runtime/prompts/``. A ``blocked`` answer carries ``error`` and
``error_code: NEXT_BLOCKED``; the CLI exits 1 for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spec_kitty import __version__
from spec_kitty.core.errors import SpecKittyError, UsageError
from spec_kitty.core.ids import agent_matches
from spec_kitty.core.next_step import Decision, MissionFacts, WPView, decide
from spec_kitty.core.status.progress import progress
from spec_kitty.core.timestamps import utc_now_iso
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log
from spec_kitty.repo.work_packages import WorkPackage, load_work_packages
from spec_kitty.services.status.claims import holder_of, implementer_of

RESULTS = ("success", "failed", "blocked")


def _text(path: Path) -> str | None:
    """A planning document's text, None when absent; an unreadable one is an error
    naming it (``FILE_NOT_UTF8``), never "missing" (which would send the agent back)."""
    from spec_kitty.repo.textio import read_text_if_exists

    return read_text_if_exists(path)


def _committed(project: ProjectPaths, path: Path) -> bool:
    from spec_kitty.git import repo as git_repo

    return git_repo.is_committed(project.root, path.relative_to(project.root))


def _views(snapshot: dict[str, Any], wps: list[WorkPackage]) -> tuple[WPView, ...]:
    states = snapshot["work_packages"]
    views = tuple(WPView(wp.wp_id, states.get(wp.wp_id, {}).get("lane", "uninitialized"),
                         tuple(wp.dependencies), holder_of(states.get(wp.wp_id, {})),
                         implementer_of(states.get(wp.wp_id, {})))
                  for wp in wps)
    # Missions from older tools may have board entries without a flat WP file.
    filed = {wp.wp_id for wp in wps}
    return views + tuple(WPView(wp_id, state.get("lane", "uninitialized"), (),
                                holder_of(state), implementer_of(state))
                         for wp_id, state in sorted(states.items()) if wp_id not in filed)


def execution_started(views: tuple[WPView, ...]) -> bool:
    """Whether any work package has moved past ``planned`` on the board."""
    return any(v.lane not in ("planned", "uninitialized") for v in views)


def gather_facts(project: ProjectPaths, mission: Mission, snapshot: dict[str, Any],
                 wps: list[WorkPackage], agent: str = "") -> MissionFacts:
    """What the decision engine needs, read as cheaply as the mission's state allows.

    A mission whose log shows execution started counts as finalized even without
    lanes.json (missions from older tools have none): it is never sent back to planning.
    """
    views = _views(snapshot, wps)
    finalized = bool(views) and (execution_started(views) or (
        mission.lanes_file.exists() and all(v.lane != "uninitialized" for v in views)))
    accepted = bool(mission.meta.get("accepted_at"))
    if finalized:
        # Planning gates were passed to get here; skip the git calls they would cost.
        own_review = any(v.lane == "for_review" and agent_matches(v.implementer, agent)
                         for v in views)
        allow_self = True
        if own_review:  # the setting is only read when it can matter
            from spec_kitty.services.status.claims import self_review_allowed

            allow_self = self_review_allowed(project)
        return MissionFacts(True, True, True, True, True, True, True, len(views), True,
                            accepted, views, allow_self)
    from spec_kitty.core import documents

    spec, plan = mission.path / "spec.md", mission.path / "plan.md"
    spec_text, plan_text = _text(spec), _text(plan)
    return MissionFacts(
        spec_present=spec_text is not None,
        spec_substantive=spec_text is not None and documents.spec_is_substantive(spec_text),
        spec_committed=spec_text is not None and _committed(project, spec),
        plan_present=plan_text is not None,
        plan_substantive=bool(plan_text) and not documents.plan_problems(plan_text or ""),
        plan_committed=plan_text is not None and _committed(project, plan),
        tasks_present=(mission.path / "tasks.md").exists(),
        wp_file_count=len(wps),
        finalized=False,
        accepted=accepted,
        wps=views,
    )


def _warnings(mission: Mission, facts: MissionFacts, wps: list[WorkPackage]) -> list[str]:
    found = mission.warnings()
    # A legacy mission that is all done needs nothing implemented: no noise about it.
    unfinished = any(v.lane not in ("done", "canceled") for v in facts.wps)
    if facts.finalized and unfinished and not mission.lanes_file.exists():
        found.append(f"{mission.lanes_file} is missing (a mission from an older tool?); "
                     "implementing needs it: run `spec-kitty agent mission finalize-tasks "
                     f"--mission {mission.slug}`")
    if facts.finalized:  # before that, finalize-tasks reports it as a problem
        from spec_kitty.services.status.board import dependency_warnings

        found += dependency_warnings(mission, wps)
    return found


def _record_result(project: ProjectPaths, mission: Mission, agent: str, result: str,
                   reason: str | None) -> None:
    path = project.runtime_dir / "next" / f"{mission.slug}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"at": utc_now_iso(), "agent": agent, "result": result,
                                 "reason": reason}, sort_keys=True) + "\n")


def _blocked(decision: Decision, reason: str, failures: list[str]) -> Decision:
    return Decision("blocked", decision.mission_state, decision.action, decision.wp_id,
                    reason=reason, guard_failures=failures)


def _report(project: ProjectPaths, mission: Mission, agent: str, result: str,
            reason: str | None, snapshot: dict[str, Any], state: dict[str, Any],
            answer: dict[str, Any]) -> Decision | None:
    """Record a failed/blocked outcome; returns the blocked decision it leads to, if any."""
    from spec_kitty.services.execution import next_outcomes

    action, wp_id = next_outcomes.last_step(state, agent)
    if result == "success":
        next_outcomes.clear_attempts(state, agent)
        return None
    wp_id = wp_id or next_outcomes.held_by(snapshot, agent)
    if action is None and wp_id is None:  # nothing to retry or block: a mistaken report
        ask = f"spec-kitty next --agent {agent} --mission {mission.slug}"
        raise SpecKittyError(
            f"{agent} has no step to report {result} on: `next` never handed it one in "
            f"{mission.slug} and it holds no work package.", "NO_STEP_TO_REPORT",
            hint=f"Take a step first: `{ask} --result success --json`.")
    what = f"{action or 'its step'}" + (f" of {wp_id}" if wp_id else "")
    text = reason or f"{agent} reported {result} on {what} without a reason"
    holder = next_outcomes.held_by_another(snapshot, wp_id, agent) if wp_id else None
    if holder is not None:  # it lost the claim: the report is about work it never held
        next_outcomes.clear_attempts(state, agent)
        if result == "failed":
            return None  # nothing to retry: its next step is something else
        lane = snapshot["work_packages"][wp_id]["lane"]
        answer.update(blocked_by="agent", blocked_wp=None, blocked_reason=text)
        return Decision("blocked", "blocked", action, wp_id, reason=text, guard_failures=[
            f"{wp_id} is {lane} by {holder}, not {agent}: it was not blocked ({text})"])
    if result == "failed":
        failure = next_outcomes.count_failure(state, agent, text,
                                              next_outcomes.max_attempts(project))
        answer.update(attempt=failure.attempt, max_attempts=failure.limit,
                      failures=failure.reasons)
        if not failure.escalate:
            if wp_id:
                next_outcomes.note(project, mission, agent, wp_id,
                                   f"{action} failed (attempt {failure.attempt} of "
                                   f"{failure.limit}): {text}")
            return None
        text = f"{what} failed {failure.attempt} times: " + "; ".join(failure.reasons)
        state["attempts"].pop(next_outcomes.step_key(action, wp_id), None)
    blocked = bool(wp_id) and next_outcomes.block(project, mission, agent, str(wp_id), text)
    answer.update(blocked_by="agent" if result == "blocked" else "attempts",
                  blocked_wp=wp_id if blocked else None, blocked_reason=text)
    if blocked:
        answer["remediation"] = (
            "When it is resolved: spec-kitty agent tasks move-task "
            f"{wp_id} --to in_progress --agent {agent} --mission {mission.slug}")
    failures = [f"{wp_id} is blocked: {text}" if blocked else text]
    return Decision("blocked", "blocked", action, wp_id, reason=text, guard_failures=failures)


def next_step(project: ProjectPaths, mission: Mission, agent: str | None,
              result: str | None, reason: str | None = None) -> dict[str, Any]:
    """The answer to ``next`` (see the module docstring for its kinds)."""
    from spec_kitty.services.status.status_health import ensure_log_present

    if result is not None and result not in RESULTS:
        raise UsageError(f"--result must be one of {', '.join(RESULTS)}")
    if result is not None and not agent:
        raise UsageError("--result needs --agent (who is reporting the result)")
    if reason is not None and result not in ("failed", "blocked"):
        raise UsageError("--reason goes with --result failed or --result blocked")
    ensure_log_present(project, mission)
    snapshot = event_log.load_snapshot(project, mission)
    wps = load_work_packages(project, mission)
    answer: dict[str, Any] = {}
    if result is None:
        return _answer(project, mission, agent, None, snapshot, wps, answer, None)
    assert agent is not None
    from spec_kitty.services.execution import next_outcomes

    with next_outcomes.run_state(project, mission) as state:
        reported = _report(project, mission, agent, result, reason, snapshot, state, answer)
        _record_result(project, mission, agent, result, reason)
        if reported is not None:
            snapshot = event_log.load_snapshot(project, mission)
        final = _answer(project, mission, agent, result, snapshot, wps, answer, reported)
        if final["kind"] == "step":
            next_outcomes.remember_step(state, agent, final["action"], final["wp_id"])
    return final


def _answer(project: ProjectPaths, mission: Mission, agent: str | None, result: str | None,
            snapshot: dict[str, Any], wps: list[WorkPackage], answer: dict[str, Any],
            reported: Decision | None) -> dict[str, Any]:
    from spec_kitty.services.execution import prompts
    from spec_kitty.services.status import reviews

    facts = gather_facts(project, mission, snapshot, wps, agent or "")
    decision = reported or decide(facts, agent or "")
    if reported is None and decision.kind == "blocked" and facts.finalized:
        from spec_kitty.services.status.board import dependency_cycles

        cycles = dependency_cycles(mission, wps)
        if cycles:  # waiting would never end: say why
            decision = _blocked(decision, "work packages depend on each other in a cycle "
                                "(guard_failures names the files)",
                                cycles + decision.guard_failures)
    broken = next((w for w in wps if w.wp_id == decision.wp_id and w.problem), None)
    if broken is not None and decision.kind == "step":  # fail closed: its deps are unknown
        where = str(mission.path / broken.file)
        problem = str(broken.problem)  # usually names the file and line already
        decision = _blocked(decision, f"{broken.wp_id}'s file cannot be read",
                            [problem if where in problem else f"{where}: {problem}"])
    if decision.kind == "step" and decision.wp_id:
        from spec_kitty.services.status.board import missing_wp_files

        gone = missing_wp_files(project, mission, snapshot, wps).get(decision.wp_id)
        if gone is not None:  # its prompt and owned files are unknown: fail closed
            decision = _blocked(decision, f"{decision.wp_id}'s file is missing", [gone])
    answer.update({
        "kind": decision.kind, "agent": agent, "mission_slug": mission.slug,
        "mission_id": mission.mission_id, "mission_number": mission.mission_number,
        "mission_type": mission.mission_type, "mission_state": decision.mission_state,
        "timestamp": utc_now_iso(), "action": decision.action, "wp_id": decision.wp_id,
        "workspace_path": None, "prompt_file": None, "reason": decision.reason,
        "guard_failures": decision.guard_failures, "self_review": decision.self_review,
        "review_feedback": None, "progress": progress(snapshot["summary"]),
        "by_lane": snapshot["summary"], "is_query": result is None,
        "warnings": _warnings(mission, facts, wps), "spec_kitty_version": __version__,
    })
    if decision.wp_id:
        state = snapshot["work_packages"].get(decision.wp_id, {})
        answer["review_feedback"] = reviews.pending_feedback(project, state)
    if result is None:
        answer["preview_step"] = {"kind": decision.kind, "action": decision.action,
                                  "wp_id": decision.wp_id}
        answer["kind"] = "query"
        return answer
    if decision.kind == "blocked":
        answer["error"] = f"blocked: {decision.reason}"
        answer["error_code"] = "NEXT_BLOCKED"
        answer.setdefault("blocked_by", "decision")
    if decision.kind == "step":
        wp = next((w for w in wps if w.wp_id == decision.wp_id), None)
        step = prompts.StepContext(decision.reason, answer["review_feedback"],
                                   decision.self_review)
        path, _, values = prompts.write_prompt(project, mission, decision.action or "implement",
                                               agent or "", wp, step)
        answer["prompt_file"] = str(path)
        answer["workspace_path"] = values.get("WORKSPACE")
    return answer
