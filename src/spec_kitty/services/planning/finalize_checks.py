"""The checks ``finalize-tasks`` runs before it writes anything.

Every problem names a file and a line: the tasks.md line when the value came from
tasks.md, the frontmatter key's line when it came from a WP file. A file that cannot
be read at all (not UTF-8, broken frontmatter) is a **root cause**: it is reported
first, and the checks that would only repeat it (a "missing" WP file, an "unmapped"
requirement it may well cover, …) are skipped, so the author fixes the real problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty.core import documents, graph, ids
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.exec_lanes import PLANNING_MODE, LaneInput, LanePlan, compute_lanes
from spec_kitty.core.ownership import normalize, overlapping_pairs
from spec_kitty.core.tasks_doc import TasksDoc, TasksSection, parse_tasks_doc
from spec_kitty.repo import frontmatter, textio
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import SPECS_DIR, ProjectPaths
from spec_kitty.repo.work_packages import wp_files, wp_id_of_file

EXECUTION_MODES = ("code_change", PLANNING_MODE)
# Problems that mean a file could not be read at all.
ROOT_CAUSE_CODES = frozenset({"FILE_NOT_UTF8", "FILE_UNREADABLE", "FRONTMATTER_INVALID"})


@dataclass(frozen=True)
class Problem:
    """``file`` is project-relative; ``line`` is 1-based."""

    file: str
    line: int
    code: str
    message: str

    @property
    def root_cause(self) -> bool:
        return self.code in ROOT_CAUSE_CODES

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "code": self.code, "message": self.message}


@dataclass
class WPDoc:
    wp_id: str
    path: Path
    rel: str
    meta: Any
    body: str
    broken: bool = False  # unreadable: its fields are unknown, not empty
    dependencies: list[str] = field(default_factory=list)
    requirement_refs: list[str] = field(default_factory=list)
    subtasks: list[str] = field(default_factory=list)
    owned_files: list[str] = field(default_factory=list)
    execution_mode: str = "code_change"
    # Where each list came from: (file, line) for messages.
    origin: dict[str, tuple[str, int]] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        """1-based file line of a frontmatter key (the fence is line 1)."""
        try:
            return int(self.meta.lc.key(key)[0]) + 2
        except (AttributeError, KeyError, TypeError):
            return 1

    def where(self, key: str) -> tuple[str, int]:
        return self.origin.get(key, (self.rel, self.line_of(key)))


@dataclass
class Plan:
    mission: Mission
    tasks: TasksDoc
    wps: list[WPDoc]
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)
    lanes: LanePlan | None = None


@dataclass
class _Context:
    project: ProjectPaths
    mission: Mission
    tasks_rel: str
    tasks: TasksDoc = field(default_factory=TasksDoc)
    tasks_readable: bool = False
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    wp_docs: list[WPDoc] = field(default_factory=list)

    def add(self, where: tuple[str, int], code: str, message: str) -> None:
        self.problems.append(Problem(where[0], where[1], code, message))


def _rel(project: ProjectPaths, path: Path) -> str:
    return str(path.relative_to(project.root))


def _load_wp(ctx: _Context, path: Path) -> WPDoc:
    rel = _rel(ctx.project, path)
    file_id = wp_id_of_file(path.name) or path.stem
    try:
        meta, body = frontmatter.load_file(path)
    except SpecKittyError as exc:
        ctx.add((rel, int(exc.details.get("line", 1))), exc.code, exc.message)
        return WPDoc(file_id, path, rel, {}, "", broken=True)
    declared = meta.get("work_package_id")
    if declared is not None and ids.canonical_wp_id(declared) != file_id:
        ctx.add((rel, 2), "WP_ID_MISMATCH",
                f"work_package_id {declared} does not match the file name ({file_id})")
    return WPDoc(file_id, path, rel, meta, body)


def _dependencies(ctx: _Context, doc: WPDoc, section: TasksSection | None) -> None:
    from_tasks = section is not None and section.has_dependency_notation
    tasks_line = (ctx.tasks_rel, (section.dependency_line or section.line) if section else 1)
    if "dependencies" not in doc.meta:
        doc.dependencies = list(section.dependencies) if section else []
        if from_tasks:
            doc.origin["dependencies"] = tasks_line
        return
    parsed = ids.parse_wp_list(doc.meta.get("dependencies"))
    doc.dependencies = parsed.ids
    here = (doc.rel, doc.line_of("dependencies"))
    if parsed.invalid:
        ctx.add(here, "INVALID_WP_ID", f"{doc.wp_id} dependencies: {', '.join(parsed.invalid)} "
                "is not a work package id (expected WPnn)")
    if from_tasks and section is not None and set(section.dependencies) != set(parsed.ids):
        said = ", ".join(section.dependencies) or "none"
        ctx.add(tasks_line, "DEPENDENCY_CONFLICT",
                f"tasks.md says {doc.wp_id} depends on {said}, but {doc.rel}:{here[1]} says "
                f"{', '.join(parsed.ids) or 'none'}; make them agree")


def _requirement_refs(ctx: _Context, doc: WPDoc, section: TasksSection | None) -> None:
    raw = ids.parse_string_list(doc.meta.get("requirement_refs"))
    if not raw:
        doc.requirement_refs = list(section.requirement_refs) if section else []
        if section is not None and section.refs_line:
            doc.origin["requirement_refs"] = (ctx.tasks_rel, section.refs_line)
        return
    for ref in raw:
        req_id = ids.normalize_requirement_id(ref)
        if req_id is None:
            ctx.add(doc.where("requirement_refs"), "INVALID_REQUIREMENT_ID",
                    f"{doc.wp_id} refers to {ref!r}, which is not a requirement id (expected "
                    "FR-###, NFR-### or C-###, optionally with a letter suffix like FR-003a)")
        elif req_id not in doc.requirement_refs:
            doc.requirement_refs.append(req_id)


def _subtasks(ctx: _Context, doc: WPDoc, section: TasksSection | None) -> None:
    listed = list(section.subtasks) if section else []
    if not doc.meta.get("subtasks"):
        doc.subtasks = listed
        return
    parsed = ids.parse_subtasks(doc.meta.get("subtasks"))
    doc.subtasks = parsed.ids
    here = doc.where("subtasks")
    for item in parsed.invalid:
        ctx.add(here, "SUBTASK_ID_INVALID",
                f"{doc.wp_id} subtasks entry {item} has no T### id (write T001, or "
                "{id: T001, title: ...})")
    if listed and set(listed) != set(parsed.ids):
        only_md = [t for t in listed if t not in parsed.ids]
        only_fm = [t for t in parsed.ids if t not in listed]
        ctx.warnings.append(Problem(
            ctx.tasks_rel, section.line if section else 1, "SUBTASKS_DIFFER",
            f"{doc.wp_id}: tasks.md lists {', '.join(only_md) or 'no others'} and "
            f"{doc.rel} lists {', '.join(only_fm) or 'no others'}; the frontmatter counts"))


def _merge_fields(ctx: _Context, doc: WPDoc) -> None:
    section = ctx.tasks.by_id().get(doc.wp_id)
    _dependencies(ctx, doc, section)
    _requirement_refs(ctx, doc, section)
    _subtasks(ctx, doc, section)
    doc.owned_files = [normalize(p) for p in ids.parse_string_list(doc.meta.get("owned_files"))]
    mode = str(doc.meta.get("execution_mode") or "code_change")
    if mode not in EXECUTION_MODES:
        ctx.add((doc.rel, doc.line_of("execution_mode")), "INVALID_EXECUTION_MODE",
                f"execution_mode must be one of {', '.join(EXECUTION_MODES)}, not {mode!r}")
    doc.execution_mode = mode


def _check_coverage(ctx: _Context, wps: list[WPDoc]) -> None:
    if not ctx.tasks_readable:
        return  # already reported; every WP would look "extra"
    sections = ctx.tasks.by_id()
    files = {doc.wp_id: doc for doc in wps}
    for wp_id, section in sections.items():
        if wp_id not in files:
            ctx.add((ctx.tasks_rel, section.line), "MISSING_WP_FILE",
                    f"{wp_id} has a section in tasks.md but no tasks/{wp_id}-*.md file")
    for wp_id, doc in files.items():
        if wp_id not in sections:
            ctx.add((doc.rel, 1), "EXTRA_WP_FILE", f"{wp_id} has a file but no section in "
                    "tasks.md")


def _check_dependencies(ctx: _Context, wps: list[WPDoc]) -> dict[str, list[str]]:
    deps = {doc.wp_id: doc.dependencies for doc in wps}
    by_id = {doc.wp_id: doc for doc in wps}
    for wp_id, missing in graph.unknown_dependencies(deps).items():
        ctx.add(by_id[wp_id].where("dependencies"), "UNKNOWN_DEPENDENCY",
                f"{wp_id} depends on unknown {', '.join(missing)}")
    for cycle in graph.find_cycles(deps):
        ctx.add(by_id[cycle[0]].where("dependencies"), "DEPENDENCY_CYCLE",
                "dependency cycle: " + " → ".join(cycle))
    return deps


def _check_requirements(ctx: _Context, wps: list[WPDoc]) -> None:
    spec = ctx.mission.path / "spec.md"
    spec_rel = _rel(ctx.project, spec)
    try:
        text = textio.read_text_if_exists(spec)
    except SpecKittyError as exc:
        ctx.add((spec_rel, int(exc.details.get("line", 1))), exc.code, exc.message)
        return
    if text is None:
        ctx.add((spec_rel, 1), "SPEC_MISSING", "spec.md does not exist")
        return
    defined = {r.req_id: r for r in documents.defined_requirements(text)}
    for line, cell in documents.malformed_requirement_rows(text):
        ctx.add((spec_rel, line), "INVALID_REQUIREMENT_ID",
                f"{cell} is not a requirement id (expected FR-###, NFR-### or C-###, "
                "optionally with a letter suffix like FR-003a)")
    for req_id, line in documents.mentioned_requirement_ids(text).items():
        if req_id not in defined:
            ctx.add((spec_rel, line), "BARE_PROSE_REQUIREMENT_ID",
                    f"{req_id} is mentioned but not defined in a requirements table")
    mapped: set[str] = set()
    for doc in wps:
        if not doc.requirement_refs and ctx.tasks_readable:
            ctx.add(doc.where("requirement_refs"), "MISSING_REQUIREMENT_REFS",
                    f"{doc.wp_id} lists no requirement_refs")
        for ref in doc.requirement_refs:
            if ref not in defined:
                ctx.add(doc.where("requirement_refs"), "UNKNOWN_REQUIREMENT_REF",
                        f"{doc.wp_id} refers to {ref}, which spec.md does not define")
            mapped.add(ref)
    if ctx.tasks_readable and len(wps) == len(ctx.wp_docs):
        for req in defined.values():
            if wps and req.kind == "FR" and req.req_id not in mapped:
                ctx.add((spec_rel, req.line), "UNMAPPED_FUNCTIONAL_REQUIREMENT",
                        f"{req.req_id} is not covered by any work package")


def _check_ownership(ctx: _Context, wps: list[WPDoc], deps: dict[str, list[str]]) -> None:
    for doc in wps:
        if doc.execution_mode == PLANNING_MODE:
            continue
        if not doc.owned_files:
            ctx.add((doc.rel, doc.line_of("owned_files")), "MISSING_OWNED_FILES",
                    f"{doc.wp_id} must list owned_files (the paths it may change)")
        inside = [p for p in doc.owned_files if p == SPECS_DIR or p.startswith(SPECS_DIR + "/")]
        if inside:
            ctx.add((doc.rel, doc.line_of("owned_files")), "OWNS_PLANNING_FILES",
                    f"{doc.wp_id} is code_change but owns {', '.join(inside)}; only "
                    "planning_artifact work packages may own kitty-specs/")
    code = [d for d in wps if d.execution_mode != PLANNING_MODE]
    for index, a in enumerate(code):
        for b in code[index + 1 :]:
            if not graph.may_run_in_parallel(deps, a.wp_id, b.wp_id):
                continue
            pairs = overlapping_pairs(a.owned_files, b.owned_files)
            if pairs:
                shown = ", ".join(f"{x} ~ {y}" for x, y in pairs[:3])
                ctx.add((b.rel, b.line_of("owned_files")), "OWNERSHIP_OVERLAP",
                        f"{a.wp_id} and {b.wp_id} can run in parallel but both own {shown}; "
                        "add a dependency or split the files")


def _read_tasks(ctx: _Context) -> None:
    path = ctx.mission.path / "tasks.md"
    try:
        text = textio.read_text_if_exists(path)
    except SpecKittyError as exc:
        ctx.add((ctx.tasks_rel, int(exc.details.get("line", 1))), exc.code, exc.message)
        return
    if text is None:
        ctx.add((ctx.tasks_rel, 1), "TASKS_MISSING", "tasks.md does not exist")
        return
    ctx.tasks = parse_tasks_doc(text)
    ctx.tasks_readable = True
    ctx.problems += [Problem(ctx.tasks_rel, p.line, p.code, p.message)
                     for p in ctx.tasks.problems]


def _ordered(problems: list[Problem]) -> list[Problem]:
    """Root causes first, then by file and line; duplicates dropped."""
    return sorted(set(problems), key=lambda p: (not p.root_cause, p.file, p.line, p.code))


def build_plan(project: ProjectPaths, mission: Mission) -> Plan:
    """Read tasks.md, the WP files and spec.md; collect every problem (never raises)."""
    ctx = _Context(project, mission, _rel(project, mission.path / "tasks.md"))
    _read_tasks(ctx)
    docs = [_load_wp(ctx, path) for path in wp_files(mission)]
    ctx.wp_docs = docs
    readable = [doc for doc in docs if not doc.broken]
    seen: dict[str, WPDoc] = {}
    for doc in docs:
        if doc.wp_id in seen:
            ctx.add((doc.rel, 1), "DUPLICATE_WP", f"{doc.wp_id} also defined by "
                    f"{seen[doc.wp_id].rel}")
        seen.setdefault(doc.wp_id, doc)
    for doc in readable:
        _merge_fields(ctx, doc)
    if not docs and ctx.tasks_readable:
        ctx.add((ctx.tasks_rel, 1), "NO_WORK_PACKAGES",
                "no tasks/WPnn-*.md work-package files found")
    _check_coverage(ctx, docs)
    # A broken WP still exists: depending on it is not "unknown".
    deps = _check_dependencies(ctx, [*readable, *(
        WPDoc(d.wp_id, d.path, d.rel, {}, "") for d in docs if d.broken)])
    _check_requirements(ctx, readable)
    _check_ownership(ctx, readable, deps)
    plan = Plan(mission, ctx.tasks, docs, _ordered(ctx.problems), _ordered(ctx.warnings))
    if not plan.problems:
        plan.lanes = compute_lanes([
            LaneInput(d.wp_id, tuple(d.dependencies), tuple(d.owned_files), d.execution_mode)
            for d in docs])
    return plan
