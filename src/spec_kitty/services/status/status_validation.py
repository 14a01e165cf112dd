"""``agent status validate``: everything questionable in a mission's log, with lines."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.status.lanes import ALLOWED_EDGES
from spec_kitty.core.status.reducer import actor_label, dedupe, replay_key
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.status import event_log

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


@dataclass
class Finding:
    severity: str  # "error" | "warning"
    code: str
    message: str
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message,
                "line": self.line}


@dataclass
class ValidationReport:
    mission: Mission
    findings: list[Finding] = field(default_factory=list)
    event_count: int = 0

    def error(self, code: str, message: str, line: int | None = None) -> None:
        self.findings.append(Finding("error", code, message, line))

    def warn(self, code: str, message: str, line: int | None = None) -> None:
        self.findings.append(Finding("warning", code, message, line))

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        errors = [f for f in self.findings if f.severity == "error"]
        failure = {"error": f"{len(errors)} problem(s) in {self.mission.events_file.name}, "
                            f"first: {errors[0].message}",
                   "error_code": "EVENT_LOG_PROBLEMS"} if errors else {}
        return {
            **failure,
            "ok": self.ok,
            "mission_slug": self.mission.slug,
            "events_file": str(self.mission.events_file),
            "event_count": self.event_count,
            "errors": [f.to_json() for f in self.findings if f.severity == "error"],
            "warnings": [f.to_json() for f in self.findings if f.severity == "warning"],
        }


def _comparable(row: dict[str, Any]) -> str:
    clean = {k: v for k, v in row.items() if k != "_line"}
    return json.dumps(clean, sort_keys=True, default=str)


def _check_rows(report: ValidationReport, rows: list[dict[str, Any]]) -> None:
    first_seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        line, event_id = row["_line"], row["event_id"]
        if not (ULID_RE.match(event_id) or UUID_RE.match(event_id)):
            report.warn("EVENT_ID_FORMAT", f"event_id {event_id!r} is neither a ULID nor a UUID",
                        line)
        if row.get("force") and not str(row.get("reason") or "").strip():
            report.error("FORCED_WITHOUT_REASON", f"forced event {event_id} has no reason", line)
        earlier = first_seen.get(event_id)
        if earlier is None:
            first_seen[event_id] = row
        elif _comparable(earlier) != _comparable(row):
            report.error("DUPLICATE_EVENT_ID",
                         f"event_id {event_id} also on line {earlier['_line']} with other content",
                         line)
        else:
            report.warn("DUPLICATE_EVENT", f"event {event_id} repeats line {earlier['_line']}",
                        line)
        slug = row.get("mission_slug")
        if slug and slug != report.mission.slug:
            report.warn("MISSION_SLUG_MISMATCH",
                        f"event {event_id} names mission {slug!r}", line)


def _check_replay(report: ValidationReport, rows: list[dict[str, Any]]) -> None:
    lanes: dict[str, str] = {}
    for row in sorted(dedupe(rows), key=replay_key):
        wp_id, source, dest = row["wp_id"], row["from_lane"], row["to_lane"]
        current = lanes.get(wp_id)
        if current is not None and source is not None and source != current:
            report.warn("FROM_LANE_MISMATCH",
                        f"{wp_id}: event says from {source}, replay is at {current}",
                        row["_line"])
        if source is not None and not row.get("force") and dest not in ALLOWED_EDGES.get(
            source, frozenset()
        ):
            report.warn("EDGE_NOT_ALLOWED",
                        f"{wp_id}: unforced {source}→{dest} is not an allowed move",
                        row["_line"])
        lanes[wp_id] = dest


# Written from meta.json or the clock, not from the log: never drift.
NOT_FROM_LOG = frozenset({"materialized_at", "mission_number", "mission_type"})
# What every release has written; any other key is compared only where the file holds it.
CORE_KEYS = frozenset({"event_count", "last_event_id", "summary", "work_packages"})
CORE_WP_KEYS = frozenset({"lane", "actor", "last_event_id", "last_transition_at",
                          "force_count"})
# Releases before the mission rename wrote the slug under its old name.
RENAMED_KEYS = {"feature_slug": "mission_slug"}


def _same_summary(mine: Any, theirs: Any) -> bool:
    """Lane counts agree; a lane an older release did not count (``in_review``) is 0."""
    if not (isinstance(mine, dict) and isinstance(theirs, dict)):
        return bool(mine == theirs)
    return all(mine.get(lane, 0) == theirs.get(lane, 0) for lane in set(mine) | set(theirs))


def _same_work_packages(mine: Any, theirs: Any) -> bool:
    """The same work packages; each agrees on its core keys and on every key it holds."""
    if not (isinstance(mine, dict) and isinstance(theirs, dict)) or set(mine) != set(theirs):
        return bool(mine == theirs)
    for wp_id, entry in mine.items():
        expected = theirs[wp_id]
        if not (isinstance(entry, dict) and isinstance(expected, dict)):
            if entry != expected:
                return False
            continue
        for key in set(entry) | CORE_WP_KEYS:
            value = entry.get(key)
            if key == "actor" and isinstance(value, dict):
                value = actor_label(value)  # some releases kept a structured actor whole
            if value != expected.get(key):
                return False
    return True


def snapshot_drift(persisted: Any, expected: Any) -> list[str]:
    """Top-level keys where a committed status.json really disagrees with its log.

    ``expected`` is the snapshot the log folds to now. Spec Kitty releases wrote different
    shapes: older ones left out ``in_review`` counts, ``mission_number``/``mission_type``,
    the annotation slots (``notes``, ``subtasks``, ``role``, ...) and ``retrospective``,
    wrote a wall-clock ``materialized_at`` and an empty ``mission_slug`` (the oldest named
    it ``feature_slug``, compared as ``mission_slug``) and some kept a structured actor
    whole where the reference writes its tool. None of that is drift. Lanes,
    actors, event ids, force counts, lane counts, the set of work packages and every
    value the file does hold are compared. Returns sorted key names; ``[]``
    when nothing disagrees.
    """
    if not isinstance(persisted, dict):
        return ["(not a JSON object)"]
    differing = []
    for key in sorted(set(expected) | set(persisted)):
        if key in NOT_FROM_LOG:
            continue
        if key not in persisted:
            if key in CORE_KEYS:
                differing.append(key)
            continue
        mine, theirs = persisted[key], expected.get(RENAMED_KEYS.get(key, key))
        if key in ("mission_slug", "feature_slug") and mine == "":
            continue
        if key == "summary":
            same = _same_summary(mine, theirs)
        elif key == "work_packages":
            same = _same_work_packages(mine, theirs)
        else:
            same = mine == theirs
        if not same:
            differing.append(key)
    return differing


def _check_snapshot(report: ValidationReport, parsed: Any) -> None:
    path = report.mission.snapshot_file
    if not path.exists():
        if parsed.transitions:
            report.warn("SNAPSHOT_MISSING", f"{path.name} is missing; run materialize")
        return
    from spec_kitty.repo.textio import read_text

    try:
        persisted = json.loads(read_text(path))  # a BOM is not drift
    except SpecKittyError as exc:
        report.error("SNAPSHOT_UNREADABLE", exc.message)
        return
    except ValueError as exc:
        report.error("SNAPSHOT_UNREADABLE", f"{path.name} is not valid JSON: {exc}")
        return
    expected = json.loads(event_log.snapshot_bytes(event_log.snapshot_of(report.mission, parsed)))
    differing = snapshot_drift(persisted, expected)
    if differing:
        report.error("SNAPSHOT_DRIFT",
                     f"{path.name} does not match the event log (differs in: "
                     f"{', '.join(differing)}); run `spec-kitty agent status materialize`")


def validate_mission_log(mission: Mission) -> ValidationReport:
    report = ValidationReport(mission)
    parsed = event_log.read_log_lenient(mission)
    for problem in parsed.problems:
        if problem.encoding:
            code = "NOT_UTF8"
        elif problem.conflict:
            code = "MERGE_CONFLICT"
        else:
            code = "UNKNOWN_LANE" if "lane" in problem.message else "MALFORMED_LINE"
        report.error(code, problem.message, problem.line)
    if parsed.torn_tail is not None:
        report.warn("TORN_TAIL", "unfinished write (no newline, incomplete JSON): not an event; "
                    "the next status write removes it", parsed.torn_tail)
    report.event_count = len(dedupe(parsed.transitions))
    _check_rows(report, parsed.transitions)
    _check_replay(report, parsed.transitions)
    if not parsed.problems:
        _check_snapshot(report, parsed)
    report.findings.sort(key=lambda f: (f.line or 0, f.severity))
    return report
