"""The snapshot cache never lies, appends read a bounded number of bytes, cold reads stream.

No timing here: constant cost is shown by counting the bytes an append reads, streaming by
measuring allocations (tracemalloc) at two log sizes.
"""

from __future__ import annotations

import json
import os
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec_kitty.core.status.events import EventLogError, parse_log_strict
from spec_kitty.core.status.reducer import reduce_log
from spec_kitty.repo.missions import Mission
from spec_kitty.repo.paths import ProjectPaths
from spec_kitty.repo.status import event_log, log_cache, log_stream
from spec_kitty.services.status import events_factory

from helpers import parse_one_json, run_cli
from missions_fixture import event, make_mission

LOG = "status.events.jsonl"


def fresh_snapshot(mission: Mission) -> dict:
    return reduce_log(parse_log_strict((mission.path / LOG).read_bytes(), "log"),
                      mission_slug=mission.slug, mission_number=mission.mission_number,
                      mission_type=mission.mission_type)


def fill(mission: Mission, count: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    rows, lanes = [], {"WP01": "planned", "WP02": "planned", "WP03": "planned"}
    cycle = ["claimed", "in_progress", "for_review", "in_review", "planned"]
    for n in range(count):
        wp = rng.choice(sorted(lanes))
        target = cycle[(cycle.index(lanes[wp]) + 1) % len(cycle)] if lanes[wp] in cycle else "claimed"
        rows.append(event(wp, lanes[wp], target, f"2026-11-02T{n // 3600:02d}:{n // 60 % 60:02d}:"
                          f"{n % 60:02d}.000000+00:00", f"01KF{n:022d}", force=target == "planned",
                          reason="again" if target == "planned" else None))
        lanes[wp] = target
    with (mission.path / LOG).open("a") as handle:
        handle.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def test_same_length_edit_early_in_the_log_is_seen_by_the_next_read(initialized_repo: Path) -> None:
    wps = {wp: {"title": wp} for wp in ("WP01", "WP02", "WP03", "WP04")}
    mission = make_mission(initialized_repo, wps=wps)
    fill(mission, 200)  # moves WP01-WP03 only: WP04 stays as seeded on line 4
    log = mission.path / LOG
    args = ["agent", "tasks", "status", "-m", "demo", "--json"]
    assert parse_one_json(run_cli(args, initialized_repo).stdout)["by_lane"]["blocked"] == 0
    data = log.read_bytes()
    start = data.index(b'"wp_id": "WP04"')
    start = data.rindex(b"\n", 0, start) + 1
    end = data.index(b"\n", start)
    st = os.stat(log)
    edited = data[:start] + data[start:end].replace(b'"to_lane": "planned"',
                                                    b'"to_lane": "blocked"') + data[end:]
    assert len(edited) == len(data) and edited[-4096:] == data[-4096:] and edited != data
    assert end < len(data) - 4096  # early in the log, far from its last 4 KiB
    with log.open("r+b") as handle:  # in place: same inode, same size
        handle.write(edited)
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime, as a coarse clock
    after = parse_one_json(run_cli(args, initialized_repo).stdout)
    assert after["by_lane"]["blocked"] == 1
    assert after["by_lane"] == fresh_snapshot(Mission(mission.path))["summary"]


def test_racy_entry_is_checked_by_content(initialized_repo: Path) -> None:
    """Stat fields unchanged by an edit (a coarse clock): the CRC still catches it."""
    project, mission = ProjectPaths(initialized_repo), make_mission(initialized_repo)
    fill(mission, 50)
    event_log.load_snapshot(project, mission)  # stored just after the log was written: racy
    entry = log_cache.read_entry(project, mission, log_cache.READER)
    assert entry is not None and entry.racy() and not entry.marker
    log = mission.path / LOG
    data = log.read_bytes()
    edited = data.replace(b'"to_lane": "planned"', b'"to_lane": "blocked"', 1)
    with log.open("r+b") as handle:
        handle.write(edited)
    entry.key = log_cache.stat_key(os.stat(log))  # as if no stat field had moved
    log_cache.store_entry(project, mission, log_cache.READER, entry)
    assert event_log.load_snapshot(project, mission) == fresh_snapshot(mission)


def test_settled_entry_is_served_without_reading_the_log(initialized_repo: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    project, mission = ProjectPaths(initialized_repo), make_mission(initialized_repo)
    fill(mission, 50)
    expected = event_log.load_snapshot(project, mission)
    entry = log_cache.read_entry(project, mission, log_cache.READER)
    assert entry is not None and entry.racy()  # the log changed moments before it was read
    entry.stored_ns += log_cache.RACY_WINDOW_NS + 1  # as if read a while after that change
    log_cache.store_entry(project, mission, log_cache.READER, entry)

    def no_reading(*args: object) -> bytes:
        raise AssertionError("the log was read")

    monkeypatch.setattr(log_stream.os, "pread", no_reading)
    assert event_log.load_snapshot(project, mission) == expected


def test_writer_marks_the_log_so_later_writes_are_always_seen(initialized_repo: Path) -> None:
    project, mission = ProjectPaths(initialized_repo), make_mission(initialized_repo)
    fill(mission, 30)
    rows = [events_factory.annotation_row(wp_id="WP01", at="2027-01-01T00:00:00.000000+00:00",
                                          actor="t", delta={"note": "hi"})]
    with event_log.status_lock(project, mission):
        event_log.current_state(project, mission)
        event_log.append_rows(mission, rows, project)
    entry = log_cache.read_entry(project, mission, log_cache.WRITER)
    log = mission.path / LOG
    st = os.stat(log)
    assert entry is not None and entry.marker and entry.key == log_cache.stat_key(st)
    # A same-length write that keeps the mtime it produces is seen: it cannot be the mark.
    data = log.read_bytes()
    with log.open("r+b") as handle:
        handle.write(data.replace(b'"note": "hi"', b'"note": "ha"'))
    assert os.stat(log).st_mtime_ns != st.st_mtime_ns
    assert event_log.load_snapshot(project, mission)["work_packages"]["WP01"]["notes"] == ["ha"]
    # One that even restores the marked mtime is seen once the filesystem clock has ticked
    # past the mark (its ctime moves). Wait for that tick: kernels with coarse timestamps
    # (one jiffy) would otherwise give the rewrite the mark's very ctime.
    wait_for_a_timestamp_tick(log.parent, os.stat(log).st_ctime_ns)
    data = log.read_bytes()
    with log.open("r+b") as handle:
        handle.write(data.replace(b'"note": "ha"', b'"note": "ho"'))
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert event_log.load_snapshot(project, mission)["work_packages"]["WP01"]["notes"] == ["ho"]


def wait_for_a_timestamp_tick(directory: Path, ctime_ns: int) -> None:
    """Block until a file changed now gets a ctime later than ``ctime_ns`` (no speed assumed)."""
    probe = directory / ".clock-probe"
    try:
        while True:
            probe.write_bytes(b"x")
            if os.stat(probe).st_ctime_ns > ctime_ns:
                return
    finally:
        probe.unlink(missing_ok=True)


class ReadCounter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        for module in (event_log, log_stream):
            real = module.os.pread

            def counted(fd: int, n: int, offset: int, _real=real) -> bytes:
                data = _real(fd, n, offset)
                self.bytes += len(data)
                return data

            monkeypatch.setattr(module.os, "pread", counted)


@pytest.mark.parametrize("events", [2_000, 20_000])
def test_an_append_reads_no_log_bytes_at_any_log_size(
        initialized_repo: Path, monkeypatch: pytest.MonkeyPatch, events: int) -> None:
    project, mission = ProjectPaths(initialized_repo), make_mission(initialized_repo)
    fill(mission, events)
    event_log.load_snapshot(project, mission)  # the cache is warm, as after any command
    row = events_factory.annotation_row(wp_id="WP02", at="2027-01-01T00:00:00.000000+00:00",
                                        actor="t", delta={"note": "x"})
    with event_log.status_lock(project, mission):
        event_log.append_rows(mission, [row], project)  # leaves a writer entry behind
    counter = ReadCounter(monkeypatch)
    for n in range(3):  # what move-task does: check, append, materialise
        with event_log.status_lock(project, mission):
            state = event_log.current_state(project, mission)
            (at,) = events_factory.stamps_after(state, 1)
            event_log.append_rows(mission, [events_factory.annotation_row(
                wp_id="WP01", at=at, actor="t", delta={"note": f"n{n}"})], project)
            event_log.materialize(project, mission)
    assert counter.bytes == 0  # the log itself is never read again
    assert event_log.load_snapshot(project, mission) == fresh_snapshot(mission)


def streaming_peak(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        tracemalloc.start()
        log_stream.stream_fold(fd)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        os.close(fd)


def test_cold_read_memory_does_not_grow_with_the_log(initialized_repo: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_stream, "CHUNK", 64 * 1024)  # so both logs span many chunks
    small = make_mission(initialized_repo, slug="small-01JAAAAA")
    big = make_mission(initialized_repo, slug="big-01JBBBBB")
    fill(small, 2_000)
    fill(big, 20_000)
    grown = (big.path / LOG).stat().st_size - (small.path / LOG).stat().st_size
    extra = streaming_peak(big.path / LOG) - streaming_peak(small.path / LOG)
    assert grown > 6_000_000
    # Per event only an 8-byte id hash is kept (for duplicate detection): 18k events.
    assert extra < 2 * 18_000 * 8 + 256 * 1024, (extra, grown)


OPS = st.lists(st.sampled_from(["append", "append_old_at", "torn", "foreign_append",
                                "foreign_edit", "drop_cache", "read"]), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, seed=st.integers(0, 10_000))
def test_cache_always_agrees_with_a_fresh_read(initialized_repo: Path, ops: list[str],
                                               seed: int) -> None:
    rng = random.Random(seed)
    slug = f"prop{seed:05d}-01JPROP0"
    project = ProjectPaths(initialized_repo)
    mission = make_mission(initialized_repo, slug=slug)
    fill(mission, 40, seed)
    log = mission.path / LOG
    for step, op in enumerate(ops):
        mission = Mission(mission.path)
        if op in ("append", "append_old_at"):
            with event_log.status_lock(project, mission):
                try:
                    latest = event_log.current_state(project, mission)
                except EventLogError:
                    continue  # move-task refuses a broken log; so does this writer
                at = (events_factory.stamps_after(latest, 1)[0] if op == "append"
                      else f"2026-11-01T10:00:0{rng.randint(0, 9)}.000000+00:00")
                event_log.append_rows(mission, [events_factory.annotation_row(
                    wp_id=rng.choice(["WP01", "WP02", "WP03"]), at=at, actor="p",
                    delta={"note": f"s{step}"})], project)
        elif op == "torn":
            with log.open("ab") as handle:
                handle.write(b'{"actor": "p", "at": "2027')
        elif op == "foreign_append":
            data = log.read_bytes()
            prefix = b"" if data.endswith(b"\n") or not data else b"\n"
            row = event("WP03", None, rng.choice(["blocked", "planned"]),
                        f"2027-02-01T00:00:0{step % 10}.000000+00:00", f"01KX{seed:011d}{step:011d}")
            with log.open("ab") as handle:
                handle.write(prefix + json.dumps(row, sort_keys=True).encode() + b"\n")
        elif op == "foreign_edit":
            data = log.read_bytes()
            swap = ((b'"to_lane": "planned"', b'"to_lane": "blocked"')
                    if b'"to_lane": "planned"' in data else
                    (b'"to_lane": "blocked"', b'"to_lane": "planned"'))
            with log.open("r+b") as handle:
                handle.write(data.replace(*swap, 1))
        elif op == "drop_cache":
            for which in (log_cache.READER, log_cache.WRITER):
                log_cache.drop_entry(project, mission, which)
        cached = outcome(event_log.load_snapshot, project, mission)
        assert cached == outcome(lambda _, m: fresh_snapshot(m), project, mission), (step, op)


def outcome(read: Callable[[ProjectPaths, Mission], dict], project: ProjectPaths,
            mission: Mission) -> tuple[str, object]:
    """A snapshot, or the error a reader gets: the cache must not hide a broken log either."""
    try:
        return "ok", read(project, mission)
    except EventLogError as exc:
        return "error", exc.details["line"]


def test_a_board_with_a_blocked_wp_does_not_read_the_log(initialized_repo: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from spec_kitty.services.status import status_health

    project, mission = ProjectPaths(initialized_repo), make_mission(initialized_repo)
    fill(mission, 300)
    with event_log.status_lock(project, mission):
        state = event_log.current_state(project, mission)
        lane = state.snapshot["work_packages"]["WP02"]["lane"]
        (at,) = events_factory.stamps_after(state, 1)
        event_log.append_rows(mission, [event("WP02", lane, "blocked", at, "01KZBLOCKED0000000000000000",
                                              reason="waiting for keys", actor="ops")], project)
    counter = ReadCounter(monkeypatch)

    def no_full_read(path: Path) -> bytes:
        raise AssertionError(f"{path} was read in full")

    monkeypatch.setattr(event_log, "read_bytes", no_full_read)
    notes = status_health.board_notes(project, mission)
    assert notes["blocked"] == {"WP02": {"reason": "waiting for keys", "actor": "ops", "at": at}}
    assert counter.bytes == 0
