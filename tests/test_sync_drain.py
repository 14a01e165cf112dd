"""Drain decisions for answers our own hub never gives but a proxy or another hub does.

Our hub's behaviour is tested end to end (tests/test_sync_e2e.py, test_sync_faults.py).
What it cannot produce is tested here with scripted answers (third-party behaviour,
reference §2.3/§(b)): a reverse proxy's 413 below the advertised limit (halving), a
400 without per-event details (bisection), 400 details, odd per-event statuses, and a
5xx in the middle of a pass. The queue is the real SQLite queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from spec_kitty.sync.batch import BatchAnswer, Limits, limits_from_health, parse_answer
from spec_kitty.sync.drain import Drainer
from spec_kitty.sync.queue import EventQueue, QueuedEvent

Script = Callable[[Sequence[QueuedEvent]], BatchAnswer]


def ids(count: int) -> list[str]:
    return [f"01J{n:023d}" for n in range(count)]


def queue_with(tmp_path: Path, count: int, pad: int = 0) -> EventQueue:
    queue = EventQueue(tmp_path / "q.db")
    queue.enqueue([{"event_id": i, "event_type": "WPStatusChanged", "pad": "x" * pad}
                   for i in ids(count)])
    return queue


class Recorder:
    """Wraps a scripted answer and remembers every batch sent."""

    def __init__(self, answer: Script) -> None:
        self.answer = answer
        self.sent: list[list[str]] = []

    def __call__(self, batch: Sequence[QueuedEvent]) -> BatchAnswer:
        self.sent.append([e.event_id for e in batch])
        return self.answer(batch)


def ok(batch: Sequence[QueuedEvent]) -> BatchAnswer:
    return BatchAnswer(200, results={e.event_id: ("success", "") for e in batch})


def test_proxy_413_halves_until_batches_fit(tmp_path: Path) -> None:
    queue = queue_with(tmp_path, 10)
    send = Recorder(lambda b: ok(b) if len(b) <= 3 else BatchAnswer(413, "Payload too large"))
    summary = Drainer(queue, send, Limits()).run()
    assert summary.synced == 10 and summary.pending == 0 and queue.depth() == 0
    delivered = [batch for batch in send.sent if len(batch) <= 3]
    assert sorted(i for batch in delivered for i in batch) == ids(10)


def test_a_single_event_still_too_big_fails_permanently(tmp_path: Path) -> None:
    queue = queue_with(tmp_path, 4)
    big = ids(4)[2]
    send = Recorder(lambda b: BatchAnswer(413, "oversized") if big in [e.event_id for e in b]
                    else ok(b))
    summary = Drainer(queue, send, Limits()).run()
    assert summary.synced == 3 and summary.failed == 1 and queue.depth() == 0
    assert summary.failures[0]["category"] == "oversized_event"
    assert [f["event_id"] for f in queue.failures()] == [big]


def test_an_event_over_the_byte_budget_is_never_sent(tmp_path: Path) -> None:
    queue = queue_with(tmp_path, 1, pad=5000)
    queue.enqueue([{"event_id": "01J" + "9" * 23, "event_type": "T"}])
    send = Recorder(ok)
    summary = Drainer(queue, send, Limits(max_events=1000, max_bytes=2000)).run()
    assert send.sent == [["01J" + "9" * 23]]
    assert summary.failures[0]["category"] == "oversized_event" and queue.depth() == 0


def test_400_without_details_is_bisected_to_the_bad_event(tmp_path: Path) -> None:
    queue = queue_with(tmp_path, 8)
    bad = ids(8)[5]
    send = Recorder(lambda b: BatchAnswer(400, "invalid envelope")
                    if bad in [e.event_id for e in b] else ok(b))
    summary = Drainer(queue, send, Limits()).run()
    assert summary.synced == 7 and summary.failed == 1
    assert summary.failures[0]["category"] == "schema_mismatch"
    left = list(queue.all_events())
    assert [(e.event_id, e.retry_count) for e in left] == [(bad, 1)]


def test_400_details_reject_the_named_events_and_the_rest_go_through(tmp_path: Path) -> None:
    queue = queue_with(tmp_path, 5)
    bad = {ids(5)[1]: "payload.to_lane: unknown lane", ids(5)[3]: "missing field wp_id"}

    def answer(batch: Sequence[QueuedEvent]) -> BatchAnswer:
        named = {e.event_id: bad[e.event_id] for e in batch if e.event_id in bad}
        return BatchAnswer(400, "invalid events", details=named) if named else ok(batch)

    summary = Drainer(queue, Recorder(answer), Limits()).run()
    assert summary.synced == 3 and {f["event_id"] for f in summary.failures} == set(bad)
    assert {e.event_id: e.retry_count for e in queue.all_events()} == dict.fromkeys(bad, 1)
    # the next pass sends only the two rejected events again, and they stay queued
    again = Recorder(answer)
    Drainer(queue, again, Limits()).run()
    assert again.sent[0] == sorted(bad)
    assert {e.retry_count for e in queue.all_events()} == {2}


def test_per_event_statuses_follow_the_reference(tmp_path: Path) -> None:
    queue = queue_with(tmp_path, 6)
    names = ids(6)
    statuses = {names[0]: ("accepted", ""), names[1]: ("duplicate", ""),
                names[2]: ("queued", ""), names[3]: ("rejected", "schema invalid"),
                names[4]: ("warning", "")}  # names[5]: no entry at all
    summary = Drainer(queue, Recorder(lambda b: BatchAnswer(200, results=statuses)),
                      Limits()).run()
    assert (summary.synced, summary.duplicates, summary.failed) == (2, 1, 1)
    left = {e.event_id: e.retry_count for e in queue.all_events()}
    assert left == {names[2]: 0, names[3]: 1, names[5]: 0}


def test_a_5xx_stops_the_pass_without_counting_retries(tmp_path: Path) -> None:
    queue = queue_with(tmp_path, 6)
    calls = iter([True, False])
    send = Recorder(lambda b: ok(b) if next(calls, False) else
                    BatchAnswer(503, "Service Unavailable"))
    summary = Drainer(queue, send, Limits(max_events=3)).run()
    assert summary.synced == 3 and summary.blocker is not None
    assert summary.blocker.category == "server_error" and summary.pending == 3
    assert {e.retry_count for e in queue.all_events()} == {0}


def test_limits_and_answers_parse_defensively() -> None:
    assert limits_from_health({"sync_ingress": {"limits": {
        "max_events_per_batch": 200, "max_decompressed_bytes_per_batch": 100_000}}}) == \
        Limits(200, 90_000, advertised=True)
    assert limits_from_health({"sync_ingress": {"limits": {
        "max_events_per_batch": 5000, "max_decompressed_bytes_per_batch": 10**7}}}) == \
        Limits(1000, 524_288, advertised=True)
    assert limits_from_health("nope") == Limits()
    answer = parse_answer(400, {"error": "bad", "details": '[{"event_id": "A", "detail": "x"}]'})
    assert answer.details == {"A": "x"}
    assert parse_answer(200, {"results": [{"event_id": "B", "status": "rejected",
                                           "error_message": "why"}]}).results == {
        "B": ("rejected", "why")}
    assert parse_answer(502, None).error == ""
