"""``agent mission finalize-tasks``: check the work-package plan, then make it official.

Every problem is collected (with file and line) before anything is written, so an
author fixes them all in one pass. A real run then fills missing frontmatter fields,
seeds each new work package with a ``genesis → planned`` event, writes lanes.json and
commits the lot. ``--validate-only`` stops after the checks and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty.core import documents, graph
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.exec_lanes import PLANNING_MODE, LaneInput, LanePlan, compute_lanes
from spec_kitty.core.lanes import Lane
from spec_kitty.core.ownership import normalize, overlapping_pairs
from spec_kitty.core.tasks_doc import TasksDoc, parse_tasks_doc, wp_label
from spec_kitty.repo import event_log, frontmatter
from spec_kitty.repo.lanes_file import VERSION as LANES_VERSION
from spec_kitty.repo.lanes_file import write_lanes
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import SPECS_DIR, ProjectPaths, is_linked_worktree
from spec_kitty.repo.work_packages import WP_FILE_RE, wp_files
from spec_kitty.services import events_factory, status_observers

EXECUTION_MODES = ("code_change", PLANNING_MODE)
BOOTSTRAP_FIELDS = ("dependencies", "requirement_refs", "subtasks", "execution_mode")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "code": self.code, "message": self.message}


class FinalizeFailed(SpecKittyError):
    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(
            f"finalize-tasks found {len(problems)} problem(s); first: "
            f"{first.file}:{first.line}: {first.message}",
            "FINALIZE_VALIDATION_FAILED",
            details={"problems": [p.to_json() for p in problems]},
        )


@dataclass
class WPDoc:
    wp_id: str
    path: Path
    rel: str
    meta: Any
    body: str
    dependencies: list[str] = field(default_factory=list)
    requirement_refs: list[str] = field(default_factory=list)
    subtasks: list[str] = field(default_factory=list)
    owned_files: list[str] = field(default_factory=list)
    execution_mode: str = "code_change"

    def line_of(self, key: str) -> int:
        """1-based file line of a frontmatter key (the fence is line 1)."""
        try:
            return int(self.meta.lc.key(key)[0]) + 2
        except (AttributeError, KeyError, TypeError):
            return 1


@dataclass
class Plan:
    mission: Mission
    tasks: TasksDoc
    wps: list[WPDoc]
    problems: list[Problem]
    lanes: LanePlan | None = None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in value.replace(",", " ").split() if p]
    return [str(v).strip() for v in value if str(v).strip()] if isinstance(value, list) else []


def _rel(project: ProjectPaths, path: Path) -> str:
    return str(path.relative_to(project.root))


def _load_wp(project: ProjectPaths, path: Path, problems: list[Problem]) -> WPDoc | None:
    rel = _rel(project, path)
    match = WP_FILE_RE.match(path.name)
    assert match is not None  # wp_files() only yields names that match
    file_id = wp_label(match.group(1)[2:])
    try:
        meta, body = frontmatter.load_file(path)
    except SpecKittyError as exc:
        problems.append(Problem(rel, int(exc.details.get("line", 1)), "FRONTMATTER_INVALID",
                                exc.message))
        return None
    declared = meta.get("work_package_id")
    if declared is not None and str(declared) != file_id:
        problems.append(Problem(rel, 2, "WP_ID_MISMATCH",
                                f"work_package_id {declared} does not match the file name "
                                f"({file_id})"))
    return WPDoc(file_id, path, rel, meta, body)


def _merge_fields(doc: WPDoc, tasks: TasksDoc, problems: list[Problem]) -> None:
    section = tasks.by_id().get(doc.wp_id)
    meta = doc.meta
    doc.dependencies = [wp_label(d[2:]) if d.upper().startswith("WP") and d[2:].isdigit() else d
                        for d in _as_list(meta.get("dependencies"))] \
        if "dependencies" in meta else list(section.dependencies if section else [])
    doc.requirement_refs = _as_list(meta.get("requirement_refs")) \
        if meta.get("requirement_refs") else list(section.requirement_refs if section else [])
    doc.subtasks = _as_list(meta.get("subtasks")) \
        if meta.get("subtasks") else list(section.subtasks if section else [])
    doc.owned_files = [normalize(p) for p in _as_list(meta.get("owned_files"))]
    mode = str(meta.get("execution_mode") or "code_change")
    if mode not in EXECUTION_MODES:
        problems.append(Problem(doc.rel, doc.line_of("execution_mode"), "INVALID_EXECUTION_MODE",
                                f"execution_mode must be one of {', '.join(EXECUTION_MODES)}, "
                                f"not {mode!r}"))
    doc.execution_mode = mode


def _check_coverage(tasks_rel: str, tasks: TasksDoc, wps: list[WPDoc],
                    problems: list[Problem]) -> None:
    sections = tasks.by_id()
    files = {doc.wp_id: doc for doc in wps}
    for wp_id, section in sections.items():
        if wp_id not in files:
            problems.append(Problem(tasks_rel, section.line, "MISSING_WP_FILE",
                                    f"{wp_id} has a section in tasks.md but no "
                                    f"tasks/{wp_id}-*.md file"))
    for wp_id, doc in files.items():
        if wp_id not in sections:
            problems.append(Problem(doc.rel, 1, "EXTRA_WP_FILE",
                                    f"{wp_id} has a file but no section in tasks.md"))


def _check_dependencies(wps: list[WPDoc], problems: list[Problem]) -> dict[str, list[str]]:
    deps = {doc.wp_id: doc.dependencies for doc in wps}
    by_id = {doc.wp_id: doc for doc in wps}
    for wp_id, missing in graph.unknown_dependencies(deps).items():
        doc = by_id[wp_id]
        problems.append(Problem(doc.rel, doc.line_of("dependencies"), "UNKNOWN_DEPENDENCY",
                                f"{wp_id} depends on unknown {', '.join(missing)}"))
    for cycle in graph.find_cycles(deps):
        doc = by_id[cycle[0]]
        problems.append(Problem(doc.rel, doc.line_of("dependencies"), "DEPENDENCY_CYCLE",
                                "dependency cycle: " + " → ".join(cycle)))
    return deps


def _check_requirements(project: ProjectPaths, mission: Mission, wps: list[WPDoc],
                        problems: list[Problem]) -> None:
    spec = mission.path / "spec.md"
    spec_rel = _rel(project, spec)
    if not spec.exists():
        problems.append(Problem(spec_rel, 1, "SPEC_MISSING", "spec.md does not exist"))
        return
    text = spec.read_text(encoding="utf-8")
    defined = {r.req_id: r for r in documents.defined_requirements(text)}
    for req_id, line in documents.mentioned_requirement_ids(text).items():
        if req_id not in defined:
            problems.append(Problem(spec_rel, line, "BARE_PROSE_REQUIREMENT_ID",
                                    f"{req_id} is mentioned but not defined in a requirements "
                                    "table"))
    mapped: set[str] = set()
    for doc in wps:
        if not doc.requirement_refs:
            problems.append(Problem(doc.rel, doc.line_of("requirement_refs"),
                                    "MISSING_REQUIREMENT_REFS",
                                    f"{doc.wp_id} lists no requirement_refs"))
        for ref in doc.requirement_refs:
            if ref not in defined:
                problems.append(Problem(doc.rel, doc.line_of("requirement_refs"),
                                        "UNKNOWN_REQUIREMENT_REF",
                                        f"{doc.wp_id} refers to {ref}, which spec.md does not "
                                        "define"))
            mapped.add(ref)
    for req in defined.values():
        if wps and req.kind == "FR" and req.req_id not in mapped:
            problems.append(Problem(spec_rel, req.line, "UNMAPPED_FUNCTIONAL_REQUIREMENT",
                                    f"{req.req_id} is not covered by any work package"))


def _check_ownership(wps: list[WPDoc], deps: dict[str, list[str]],
                     problems: list[Problem]) -> None:
    for doc in wps:
        if doc.execution_mode == PLANNING_MODE:
            continue
        if not doc.owned_files:
            problems.append(Problem(doc.rel, doc.line_of("owned_files"), "MISSING_OWNED_FILES",
                                    f"{doc.wp_id} must list owned_files (the paths it may "
                                    "change)"))
        inside = [p for p in doc.owned_files if p == SPECS_DIR or p.startswith(SPECS_DIR + "/")]
        if inside:
            problems.append(Problem(doc.rel, doc.line_of("owned_files"), "OWNS_PLANNING_FILES",
                                    f"{doc.wp_id} is code_change but owns {', '.join(inside)}; "
                                    "only planning_artifact work packages may own kitty-specs/"))
    code = [d for d in wps if d.execution_mode != PLANNING_MODE]
    for index, a in enumerate(code):
        for b in code[index + 1 :]:
            if not graph.may_run_in_parallel(deps, a.wp_id, b.wp_id):
                continue
            pairs = overlapping_pairs(a.owned_files, b.owned_files)
            if pairs:
                shown = ", ".join(f"{x} ~ {y}" for x, y in pairs[:3])
                problems.append(Problem(b.rel, b.line_of("owned_files"), "OWNERSHIP_OVERLAP",
                                        f"{a.wp_id} and {b.wp_id} can run in parallel but both "
                                        f"own {shown}; add a dependency or split the files"))


def build_plan(project: ProjectPaths, mission: Mission) -> Plan:
    problems: list[Problem] = []
    tasks_path = mission.path / "tasks.md"
    tasks_rel = _rel(project, tasks_path)
    if tasks_path.exists():
        tasks = parse_tasks_doc(tasks_path.read_text(encoding="utf-8"))
        problems += [Problem(tasks_rel, line, "TASKS_MD_INVALID", msg)
                     for line, msg in tasks.problems]
    else:
        tasks = TasksDoc()
        problems.append(Problem(tasks_rel, 1, "TASKS_MISSING", "tasks.md does not exist"))
    wps = [doc for path in wp_files(mission) if (doc := _load_wp(project, path, problems))]
    seen: dict[str, WPDoc] = {}
    for doc in wps:
        if doc.wp_id in seen:
            problems.append(Problem(doc.rel, 1, "DUPLICATE_WP",
                                    f"{doc.wp_id} also defined by {seen[doc.wp_id].rel}"))
        seen.setdefault(doc.wp_id, doc)
        _merge_fields(doc, tasks, problems)
    if not wps and tasks_path.exists():
        problems.append(Problem(tasks_rel, 1, "NO_WORK_PACKAGES",
                                "no tasks/WPnn-*.md work-package files found"))
    _check_coverage(tasks_rel, tasks, wps, problems)
    deps = _check_dependencies(wps, problems)
    _check_requirements(project, mission, wps, problems)
    _check_ownership(wps, deps, problems)
    plan = Plan(mission, tasks, wps, sorted(set(problems), key=lambda p: (p.file, p.line,
                                                                           p.code)))
    if not plan.problems:
        plan.lanes = compute_lanes([
            LaneInput(d.wp_id, tuple(d.dependencies), tuple(d.owned_files), d.execution_mode)
            for d in wps])
    return plan


def _bootstrap(doc: WPDoc, target_branch: str) -> bool:
    """Fill missing frontmatter fields in memory; returns whether anything changed."""
    values = {"dependencies": doc.dependencies, "requirement_refs": doc.requirement_refs,
              "subtasks": doc.subtasks, "execution_mode": doc.execution_mode}
    changed = False
    for key in BOOTSTRAP_FIELDS:
        if key not in doc.meta or (not doc.meta[key] and values[key]):
            doc.meta[key] = values[key]
            changed = True
    if "work_package_id" not in doc.meta:
        doc.meta.insert(0, "work_package_id", doc.wp_id)
        changed = True
    if doc.meta.get("merge_target_branch") != target_branch:
        doc.meta["merge_target_branch"] = target_branch
        changed = True
    return changed


def lanes_manifest(mission: Mission, lanes: LanePlan, target: str,
                   planning_sha: str | None) -> dict[str, Any]:
    from spec_kitty.repo.config import utc_now_iso

    return {
        "version": LANES_VERSION,
        "mission_slug": mission.slug,
        "mission_id": mission.mission_id,
        "mission_branch": f"kitty/mission-{mission.slug}",
        "target_branch": target,
        "lanes": [lane.to_json() for lane in lanes.lanes],
        "computed_at": utc_now_iso(),
        "computed_from": "dependency_graph+ownership",
        "planning_artifact_wps": lanes.planning_artifact_wps,
        "collapse_report": lanes.collapse_report(),
        "planning_commit_sha": planning_sha,
    }


def _summary(plan: Plan) -> dict[str, Any]:
    assert plan.lanes is not None
    return {
        "wp_count": len(plan.wps),
        "dependencies_parsed": {d.wp_id: d.dependencies for d in plan.wps},
        "requirement_refs_parsed": {d.wp_id: d.requirement_refs for d in plan.wps},
        "lanes": {"computed": True, "count": len(plan.lanes.lanes),
                  "lane_ids": [lane.lane_id for lane in plan.lanes.lanes],
                  "planning_artifact_wps": plan.lanes.planning_artifact_wps,
                  "collapse_report": plan.lanes.collapse_report(),
                  "preview": [lane.to_json() for lane in plan.lanes.lanes]},
    }


def _seed_events(project: ProjectPaths, mission: Mission,
                 plan: Plan) -> tuple[list[str], list[str]]:
    with event_log.status_lock(project, mission):
        parsed = event_log.read_log(mission)
        snapshot = event_log.snapshot_of(mission, parsed)
        known = snapshot["work_packages"]
        new = [d for d in plan.wps if known.get(d.wp_id, {}).get("lane", "uninitialized")
               == Lane.UNINITIALIZED.value]
        stamps = events_factory.stamps_after(parsed, len(new))
        rows = [events_factory.transition_row(
            mission, wp_id=d.wp_id, from_lane=Lane.GENESIS, to_lane=Lane.PLANNED, at=at,
            actor="finalize-tasks",
            execution_mode="direct_repo" if d.execution_mode == PLANNING_MODE else "worktree")
            for d, at in zip(new, stamps, strict=False)]
        if rows:
            event_log.append_rows(mission, rows, project)
            status_observers.notify(project.root, mission.slug, rows)
        event_log.materialize(project, mission)
    seeded = [d.wp_id for d in new]
    return seeded, [d.wp_id for d in plan.wps if d.wp_id not in seeded]


def finalize_tasks(project: ProjectPaths, mission: Mission, cwd: Path,
                   validate_only: bool = False) -> dict[str, Any]:
    from spec_kitty.git import repo as git_repo

    if is_linked_worktree(cwd):
        raise SpecKittyError("Run finalize-tasks in the main checkout, not a worktree.",
                             "PLANNING_IN_WORKTREE", hint=f"cd {project.root}")
    from spec_kitty.services.status_health import ensure_log_present

    ensure_log_present(project, mission)  # never re-seed a board whose log was deleted
    plan = build_plan(project, mission)
    if plan.problems:
        raise FinalizeFailed(plan.problems)
    target = str(mission.meta.get("target_branch") or git_repo.current_branch(project.root))
    would_modify = [d.rel for d in plan.wps if _bootstrap(d, target)]
    if validate_only:
        return {"result": "validation_passed", "mission_slug": mission.slug,
                "would_modify": would_modify, **_summary(plan)}
    branch = git_repo.current_branch(project.root)
    if branch != target:
        raise SpecKittyError(
            f"finalize-tasks commits to the mission's target branch {target!r}, but "
            f"{branch or 'a detached HEAD'} is checked out.",
            "TARGET_BRANCH_MISMATCH", hint=f"git checkout {target}")
    for doc in plan.wps:
        if doc.rel in would_modify:
            from spec_kitty.repo.atomic import write_text_atomic

            write_text_atomic(doc.path, frontmatter.dump(doc.meta, doc.body))
    seeded, already = _seed_events(project, mission, plan)
    assert plan.lanes is not None
    write_lanes(mission, lanes_manifest(mission, plan.lanes, target,
                                        git_repo.head_sha(project.root)))
    files = [_rel(project, mission.path / "tasks.md"), *[d.rel for d in plan.wps],
             _rel(project, mission.events_file), _rel(project, mission.snapshot_file),
             _rel(project, mission.lanes_file)]
    sha = git_repo.commit_paths(project.root, files,
                                f"chore({mission.slug}): finalize work packages")
    status_observers.notify_mission(project.root, mission.slug)  # WPCreated
    return {
        "result": "success",
        "mission_slug": mission.slug,
        "updated_wp_count": len(would_modify),
        "modified_wps": would_modify,
        "unchanged_wps": [d.rel for d in plan.wps if d.rel not in would_modify],
        "tasks_dir": str(mission.tasks_dir),
        "commit_created": sha is not None,
        "commit_hash": sha or git_repo.head_sha(project.root),
        "files_committed": files if sha else [],
        "bootstrap": {"total_wps": len(plan.wps), "newly_seeded": seeded,
                      "already_initialized": already},
        **_summary(plan),
    }
