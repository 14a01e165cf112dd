"""The status event log format: classify, validate and normalise each line.

One ``status.events.jsonl`` holds five kinds of rows. Lane transitions and
annotations feed the reducer; retrospective rows (``event_name`` ``retrospective.*``)
feed only the snapshot's ``retrospective`` summary; lifecycle envelopes
(``event_type``) and ``type: Retrospective*`` rows are kept on disk but skipped.
Historical shapes are accepted: ``feature_slug`` for ``mission_slug``,
``work_package_id`` for ``wp_id``, no ``mission_id``, dict actors, any
``execution_mode`` string, and the ``doing`` lane alias.

Bytes, not text, are the input: a UTF-8 byte order mark (at the start of the file
or of a line) and CRLF line endings are read as if absent. A final line without a
newline that is not a complete JSON value is a *torn tail*: the unfinished write of
a writer that was killed (or is still writing). It is never data and never a reason
to refuse the log; ``agent status validate`` reports it and the next writer cuts it.
Source of the format: /work/shared/reference/status-model.md, section 2.
"""

from __future__ import annotations

import dataclasses
import gc
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import orjson

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.ids import canonical_wp_id
from spec_kitty.core.status.lanes import LANE_ALIASES, Lane

WP_ID_RE = re.compile(r"^WP\d+$")
BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
RETROSPECTIVE_TYPES = frozenset(
    {"RetrospectiveCaptured", "RetrospectiveCaptureFailed", "RetrospectiveSkipped"}
)
# Lane spellings accepted on read -> canonical lane value (plain str: cheap to compare).
_LANES: dict[str, str] = {lane.value: lane.value for lane in Lane}
_LANES.update({alias: lane.value for alias, lane in LANE_ALIASES.items()})
_NOT_A_TARGET = frozenset({Lane.GENESIS.value, Lane.UNINITIALIZED.value})
# Lane values that parse_value keeps as they are (the reducer's fast path relies on it).
CANONICAL_TARGETS = frozenset(lane.value for lane in Lane) - _NOT_A_TARGET
CANONICAL_SOURCES = frozenset(lane.value for lane in Lane) - {Lane.UNINITIALIZED.value}

# Row kinds returned by parse_line.
TRANSITION, ANNOTATION, RETROSPECTIVE, SKIP, PROBLEM, BLANK = (
    "transition", "annotation", "retrospective", "skip", "problem", "blank")


@dataclass(frozen=True, slots=True)
class LogProblem:
    line: int
    message: str
    encoding: bool = False  # the line (or file) is not UTF-8: re-encode, never delete
    conflict: bool = False  # a git conflict marker: the merge is unresolved


@dataclass(slots=True)
class ParsedLog:
    """Normalised rows in file order; ``_line`` of each row is kept for messages.

    ``torn_tail`` is the line number of an unfinished final write (not data), or None.
    ``line_ending`` is ``"\\r\\n"`` when the log's last line ends that way, else ``"\\n"``.
    """

    transitions: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    retrospective: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    problems: list[LogProblem] = field(default_factory=list)
    torn_tail: int | None = None
    bom: bool = False
    line_ending: str = "\n"

    @property
    def latest_at(self) -> str | None:
        """The greatest ``at`` of any transition or annotation (string order)."""
        stamps = [row["at"] for row in self.transitions] + [row["at"] for row in self.annotations]
        return max(stamps) if stamps else None


class EventLogError(SpecKittyError):
    """A log that cannot be read. The message names the file and the first bad line."""

    def __init__(self, source: str, problems: list[LogProblem]) -> None:
        conflict = next((p for p in problems if p.conflict), None)
        first = conflict or problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        if conflict is not None:
            # Both sides' events are real: the resolution is their union, never a side.
            snapshot = PurePath(source).with_name("status.json")
            hint = ("Run `spec-kitty init` (it registers the status merge drivers), then "
                    f"`git checkout -m -- {source} {snapshot}` re-merges both files as the "
                    "union of both sides' events; `git add` them. Do not delete event lines.")
            code = "EVENT_LOG_CONFLICT"
        elif first.encoding:
            hint = ("The log must be UTF-8: re-encode the file (e.g. `iconv -t UTF-8`); do not "
                    "delete the line, the event in it may be valid.")
            code = "EVENT_LOG_NOT_UTF8"
        else:
            hint = ("Fix or remove the line (the log is plain JSON lines), then run "
                    "`spec-kitty agent status validate`.")
            code = "EVENT_LOG_INVALID"
        super().__init__(
            f"{source}:{first.line}: {first.message}{more}",
            code,
            details={
                "file": source,
                "line": first.line,
                "problems": [{"line": p.line, "message": p.message} for p in problems[:50]],
            },
            hint=hint,
        )


def _lane(value: Any) -> str | None:
    lane = _LANES.get(value) if isinstance(value, str) else None
    if lane is None and isinstance(value, str):
        lane = _LANES.get(value.strip().lower())
    return lane


def _valid_wp_id(value: Any, known: set[str]) -> bool:
    """Whether ``value`` spells a WP id (core.ids). Only canonical ids join ``known``:
    rows whose id is in ``known`` are folded as they are (the reducer's shortcut), so a
    ``WP1`` there would be folded apart from ``WP01``."""
    if value in known:
        return True
    if not isinstance(value, str):
        return False
    if WP_ID_RE.match(value) and canonical_wp_id(value) == value:
        known.add(value)
        return True
    return canonical_wp_id(value) is not None


def _identity_problem(row: dict[str, Any], what: str, known_wps: set[str]) -> str | None:
    """Check event_id and wp_id (either spelling); on success store the canonical wp_id."""
    event_id = row.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return f"{what} without an event_id"
    wp_id = row.get("wp_id") or row.get("work_package_id")
    if not _valid_wp_id(wp_id, known_wps):
        return f"{what} {event_id} has no valid wp_id (got {wp_id!r})"
    # WP1 / wp01 / WP001 are WP01 everywhere (core.ids); a known id is canonical already.
    row["wp_id"] = wp_id if wp_id in known_wps else canonical_wp_id(wp_id)
    return None


def _normalise_transition(row: dict[str, Any], known_wps: set[str]) -> str | None:
    """Fill the canonical keys in place; return a problem message or None."""
    problem = _identity_problem(row, "lane transition", known_wps)
    if problem is not None:
        return problem
    event_id = row["event_id"]
    at = row.get("at")
    if not isinstance(at, str) or not at:
        return f"lane transition {event_id} has no 'at' timestamp"
    to_lane = _lane(row.get("to_lane"))
    if to_lane is None or to_lane in _NOT_A_TARGET:
        return f"lane transition {event_id} has an invalid to_lane {row.get('to_lane')!r}"
    from_raw = row.get("from_lane")
    from_lane = None if from_raw is None else _lane(from_raw)
    if from_raw is not None and (from_lane is None or from_lane == Lane.UNINITIALIZED.value):
        return f"lane transition {event_id} has an invalid from_lane {from_raw!r}"
    force = row.get("force", False)
    if force is not False and force is not True:
        return f"lane transition {event_id} has a non-boolean force {force!r}"
    row["to_lane"] = to_lane
    row["from_lane"] = from_lane
    if "mission_slug" not in row and "feature_slug" in row:
        row["mission_slug"] = row["feature_slug"]
    return None


def _normalise_annotation(row: dict[str, Any], known_wps: set[str]) -> str | None:
    problem = _identity_problem(row, "annotation", known_wps)
    if problem is not None:
        return problem
    event_id = row["event_id"]
    if not isinstance(row.get("at"), str):
        return f"annotation {event_id} has no 'at' timestamp"
    if not isinstance(row.get("delta"), dict):
        return f"annotation {event_id} has no 'delta' object"
    return None


MARKER_KEYS = frozenset({"kind", "event_name", "type", "event_type"})


def classify(row: dict[str, Any]) -> str:
    """``transition``, ``annotation``, ``retrospective``, ``skip`` or ``unknown-kind``."""
    if row.keys().isdisjoint(MARKER_KEYS):  # looks up the 4 markers, not every key
        return TRANSITION
    kind = row.get("kind")
    if kind is not None:
        return ANNOTATION if kind == "annotation" else "unknown-kind"
    name = row.get("event_name")
    if isinstance(name, str) and name.startswith("retrospective."):
        return RETROSPECTIVE
    if row.get("type") in RETROSPECTIVE_TYPES or "event_type" in row:
        return SKIP
    return TRANSITION


def file_encoding_problem(head: bytes) -> LogProblem | None:
    """A whole-file encoding we cannot read (UTF-16/32), judged from the first bytes."""
    if head.startswith(_UTF16_BOMS):
        return LogProblem(1, "the log is UTF-16 (or UTF-32) encoded; spec-kitty reads UTF-8 "
                             "JSON lines", encoding=True)
    return None


# What git writes around the two sides of a conflicted hunk (7 characters each).
_CONFLICT_MARKERS = (b"<<<<<<< ", b"<<<<<<<\r", b"=======", b">>>>>>> ", b">>>>>>>\r",
                     b"||||||| ")


def _undecodable(raw: bytes) -> LogProblem | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LogProblem(0, f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at column "
                             f"{exc.start + 1})", encoding=True)
    return None


def parse_line(raw: bytes, known_wps: set[str]) -> tuple[str, Any]:
    """Classify one line (without its ``\\n``): ``(kind, row)`` or ``(PROBLEM, LogProblem)``.

    A problem's ``line`` is 0; the caller knows the line number. Blank lines (CRLF
    remnants included) are ``(BLANK, None)``; a leading BOM is ignored.
    """
    if raw[:3] == BOM:
        raw = raw[3:]
    try:
        row = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not raw or raw.isspace():
            return BLANK, None
        if raw.startswith(_CONFLICT_MARKERS):
            return PROBLEM, LogProblem(0, "git conflict marker: the log has an unresolved "
                                       "merge conflict", conflict=True)
        return PROBLEM, _undecodable(raw) or LogProblem(0, f"invalid JSON ({exc.msg})")
    return parse_value(row, known_wps)


def parse_value(row: Any, known_wps: set[str]) -> tuple[str, Any]:
    """:func:`parse_line` for a line already decoded from JSON (``row`` is normalised in place)."""
    if not isinstance(row, dict):
        return PROBLEM, LogProblem(0, f"expected a JSON object, got {type(row).__name__}")
    kind = classify(row)
    if kind == TRANSITION:
        problem = _normalise_transition(row, known_wps)
    elif kind == ANNOTATION:
        problem = _normalise_annotation(row, known_wps)
    elif kind in (SKIP, RETROSPECTIVE):
        return kind, row
    else:
        problem = f"unknown record kind {row.get('kind')!r}"
    if problem is not None:
        return PROBLEM, LogProblem(0, problem)
    return kind, row


def is_torn(raw: bytes) -> bool:
    """Whether an unterminated final line is an unfinished write rather than a row."""
    if raw[:3] == BOM:
        raw = raw[3:]
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.end == len(raw)  # a multi-byte character cut by the write, not Latin-1
        return True  # incomplete JSON
    return False  # a complete value: a row (or a problem row), never torn


def parse_lines(lines: Iterable[tuple[int, bytes, bool]], parsed: ParsedLog) -> ParsedLog:
    """Fold ``(line number, bytes, terminated)`` triples into ``parsed`` (file order)."""
    known_wps: set[str] = set()
    for lineno, raw, terminated in lines:
        kind, value = parse_line(raw, known_wps)
        if kind == PROBLEM:
            if not terminated and is_torn(raw):
                parsed.torn_tail = lineno
            else:
                parsed.problems.append(dataclasses.replace(value, line=lineno))
        elif kind == TRANSITION:
            value["_line"] = lineno
            parsed.transitions.append(value)
        elif kind == ANNOTATION:
            value["_line"] = lineno
            parsed.annotations.append(value)
        elif kind == RETROSPECTIVE:
            parsed.skipped += 1
            parsed.retrospective.append(value)
        elif kind == SKIP:
            parsed.skipped += 1
    return parsed


def split_lines(data: bytes) -> list[tuple[int, bytes, bool]]:
    """``(line number, bytes without the newline, terminated)`` for every line of ``data``."""
    lines = data.split(b"\n")
    last = lines.pop()  # b"" when data ends with a newline
    out = [(index + 1, raw, True) for index, raw in enumerate(lines)]
    if last:
        out.append((len(lines) + 1, last, False))
    return out


def parse_log(data: bytes) -> ParsedLog:
    """Parse a whole log; problems are collected, never raised (see :func:`parse_log_strict`).

    The cyclic garbage collector is paused while the rows (acyclic dicts) pile up.
    """
    parsed = ParsedLog(bom=data[:3] == BOM, line_ending=line_ending_of(data))
    problem = file_encoding_problem(data[:4])
    if problem is not None:
        parsed.problems.append(problem)
        return parsed
    collecting = gc.isenabled()
    gc.disable()
    try:
        return parse_lines(split_lines(data), parsed)
    finally:
        if collecting:
            gc.enable()


def parse_log_strict(data: bytes, source: str) -> ParsedLog:
    """:func:`parse_log`, raising :class:`EventLogError` on any problem (a torn tail is none)."""
    parsed = parse_log(data)
    if parsed.problems:
        raise EventLogError(source, parsed.problems)
    return parsed


def line_ending_of(tail: bytes) -> str:
    """The line ending a log (or its last bytes) uses: CRLF if its last line ends so."""
    end = tail.rfind(b"\n")
    return "\r\n" if end > 0 and tail[end - 1 : end] == b"\r" else "\n"


def serialize_row(row: dict[str, Any], line_ending: str = "\n") -> str:
    """One log line, byte-identical to ``json.dumps(row, sort_keys=True)`` plus newline."""
    import json

    return json.dumps(row, sort_keys=True) + line_ending
