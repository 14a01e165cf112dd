"""Byte-level shapes of a real log: BOM, CRLF, blank lines, torn tails, other encodings.

Every valid event is read whatever the line endings or a byte order mark; a log that is
not UTF-8 is named as such (never "invalid JSON, remove the line"); an unterminated
final line that is not complete JSON is an unfinished write, not data and not an error.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec_kitty.core.status.events import EventLogError, parse_log, parse_log_strict
from spec_kitty.core.status.reducer import reduce_log
from spec_kitty.repo.status import log_stream
from test_reducer import event_rows

BOM = b"\xef\xbb\xbf"


def strip_lines(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "_line"} for row in rows]


def canonical(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()


def dressed(rows: list[dict], rnd: random.Random, *, bom: bool, crlf: float, blanks: float,
            final_newline: bool) -> bytes:
    out = BOM if bom else b""
    for index, row in enumerate(rows):
        if rnd.random() < blanks:
            out += b"\r\n" if rnd.random() < crlf else b"\n"
        out += json.dumps(row, sort_keys=True, ensure_ascii=rnd.random() < 0.5).encode()
        last = index == len(rows) - 1
        if not last or final_newline:
            out += b"\r\n" if rnd.random() < crlf else b"\n"
    return out


def stream(data: bytes, tmp_path: Path, chunk: int) -> dict:
    path = tmp_path / "log.jsonl"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        old, log_stream.CHUNK = log_stream.CHUNK, chunk
        result = log_stream.stream_fold(fd)
    finally:
        log_stream.CHUNK = old
        os.close(fd)
    assert result.problems == []
    return result.fold.snapshot(fallback_slug="m")


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=event_rows(), rnd=st.randoms(use_true_random=False), bom=st.booleans(),
       crlf=st.sampled_from([0.0, 0.5, 1.0]), blanks=st.sampled_from([0.0, 0.2]),
       final_newline=st.booleans(), chunk=st.integers(1, 64))
def test_bom_crlf_blank_lines_never_change_what_is_read(rows: list[dict], rnd: random.Random,
                                                       bom: bool, crlf: float, blanks: float,
                                                       final_newline: bool, chunk: int,
                                                       tmp_path: Path) -> None:
    for row in rows:
        if row.get("kind") == "annotation" and "note" in row["delta"]:
            row["delta"]["note"] += " café ✓"
    data = dressed(rows, rnd, bom=bom, crlf=crlf, blanks=blanks, final_newline=final_newline)
    want = parse_log_strict(canonical(rows), "canonical")
    got = parse_log_strict(data, "dressed")
    assert strip_lines(got.transitions) == strip_lines(want.transitions)
    assert strip_lines(got.annotations) == strip_lines(want.annotations)
    assert got.torn_tail is None and got.bom == bom
    if rows and final_newline and crlf == 1.0:
        assert got.line_ending == "\r\n"
    expected = reduce_log(want, mission_slug="m")
    assert reduce_log(got, mission_slug="m") == expected
    assert stream(data, tmp_path, chunk) == expected  # chunk boundaries anywhere


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6),
       st.sampled_from(["latin-1", "cp1252"]))
def test_other_encodings_are_named_never_invalid_json(notes: list[str], codec: str) -> None:
    lines, expected_bad = [], set()
    for index, note in enumerate(notes, start=1):
        row = {"actor": "a", "at": f"2026-01-01T00:00:0{index}+00:00",
               "delta": {"note": note}, "event_id": f"01K{index:023d}", "kind": "annotation",
               "wp_id": "WP01"}
        text = json.dumps(row, sort_keys=True, ensure_ascii=False)
        try:
            encoded = text.encode(codec)
        except UnicodeEncodeError:
            encoded = json.dumps(row, sort_keys=True).encode()  # escaped: plain ASCII
        try:
            encoded.decode("utf-8")
        except UnicodeDecodeError:
            expected_bad.add(index)
        lines.append(encoded + b"\n")
    parsed = parse_log(b"".join(lines))
    assert {p.line for p in parsed.problems} == expected_bad
    for problem in parsed.problems:
        assert problem.encoding and "not UTF-8" in problem.message
        assert "invalid JSON" not in problem.message
    if expected_bad:
        with pytest.raises(EventLogError) as caught:
            parse_log_strict(b"".join(lines), "status.events.jsonl")
        assert caught.value.code == "EVENT_LOG_NOT_UTF8"
        assert "re-encode" in (caught.value.hint or "") and "delete" in (caught.value.hint or "")


def test_utf16_log_is_named() -> None:
    data = ('{"actor": "a", "at": "t", "delta": {}, "event_id": "E", "kind": "annotation", '
            '"wp_id": "WP01"}\n').encode("utf-16")
    with pytest.raises(EventLogError) as caught:
        parse_log_strict(data, "status.events.jsonl")
    assert "UTF-16" in caught.value.message and caught.value.code == "EVENT_LOG_NOT_UTF8"


@pytest.mark.parametrize("tail", [
    b'{"actor": "a", "at": "2026-01-01T00:00:09+00:00", "event_id": "01K9"',  # cut mid-object
    b'{"actor": "caf\xc3',  # cut inside a multi-byte character
    b'{"note": "\\u00',  # cut inside an escape
])
def test_torn_final_line_is_not_data_and_not_an_error(tail: bytes) -> None:
    good = canonical([{"actor": "a", "at": "2026-01-01T00:00:01+00:00", "delta": {"note": "n"},
                       "event_id": "01K1", "kind": "annotation", "wp_id": "WP01"}])
    parsed = parse_log_strict(good + tail, "log")
    assert parsed.torn_tail == 2 and len(parsed.annotations) == 1 and parsed.problems == []
    # The same bytes in the middle of the log are a problem: only the end can be unfinished.
    assert parse_log(good + tail + b"\n" + good).problems[0].line == 2


def test_unterminated_complete_line_is_data() -> None:
    row = {"actor": "a", "at": "2026-01-01T00:00:01+00:00", "delta": {"note": "n"},
           "event_id": "01K1", "kind": "annotation", "wp_id": "WP01"}
    parsed = parse_log_strict(json.dumps(row).encode(), "log")
    assert parsed.torn_tail is None and len(parsed.annotations) == 1


def test_merge_driver_reads_bom_crlf_and_torn_sides_and_keeps_ours_line_endings() -> None:
    from spec_kitty.core.status.log_merge import LogMergeError, merge_logs

    def row(n: int) -> dict:
        return {"actor": "a", "at": f"2026-01-01T00:00:0{n}+00:00", "delta": {"note": "é"},
                "event_id": f"01K{n:023d}", "kind": "annotation", "wp_id": "WP01"}

    base = canonical([row(1)])
    ours = BOM + canonical([row(1), row(2)]).replace(b"\n", b"\r\n")
    theirs = canonical([row(1), row(3)]) + b'{"actor": "a", "at": "2026'
    merged = merge_logs(base, ours, theirs)
    assert merged == canonical([row(1), row(2), row(3)]).replace(b"\n", b"\r\n")
    with pytest.raises(LogMergeError) as caught:
        merge_logs(base, ours, json.dumps(row(3), ensure_ascii=False).encode("latin-1") + b"\n")
    assert caught.value.code == "MERGE_INPUT_NOT_UTF8" and "theirs:1" in caught.value.message


@pytest.mark.parametrize("cached", [False, True])
def test_appends_keep_crlf_and_the_bom_and_cut_a_torn_tail(tmp_path: Path, cached: bool) -> None:
    """With or without the snapshot cache, new lines end the way the log's lines do."""
    from spec_kitty.repo.missions import Mission
    from spec_kitty.repo.paths import ProjectPaths
    from spec_kitty.repo.status import event_log, log_cache
    from spec_kitty.services.status import events_factory

    rows = {n: events_factory.annotation_row(wp_id="WP01", at=f"2026-01-01T00:00:0{n}+00:00",
                                             actor="a", delta={"note": f"n{n}"})
            for n in range(1, 5)}
    row = rows.__getitem__

    mission = Mission(tmp_path / "kitty-specs" / "m-01JAAAAA")
    mission.path.mkdir(parents=True)
    log = mission.events_file
    good = BOM + canonical([row(1), row(2)]).replace(b"\n", b"\r\n")
    log.write_bytes(good)
    project = ProjectPaths(tmp_path) if cached else None
    if project is not None:
        event_log.load_snapshot(project, mission)  # a warm cache, as after any command
    event_log.append_rows(mission, [row(3)], project)
    with log.open("ab") as handle:
        handle.write(b'{"actor": "a", "at": "2026-01-0')  # a killed writer's unfinished line
    event_log.append_rows(mission, [row(4)], project)  # cuts it first
    assert log.read_bytes() == good + canonical([row(3), row(4)]).replace(b"\n", b"\r\n")
    if project is not None:  # the cache followed every step
        entry = log_cache.read_entry(project, mission, log_cache.WRITER)
        assert entry is not None and entry.line_ending == "\r\n"
        assert entry.key == log_cache.stat_key(log.stat())
    notes = event_log.load_snapshot(project, mission)["work_packages"]["WP01"]["notes"]
    assert notes == ["n1", "n2", "n3", "n4"]
