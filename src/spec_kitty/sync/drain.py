"""One drain pass: the queue, in FIFO order, to the hub, within its limits.

The pass walks the queue once by row id, so a rejected event never blocks the ones
behind it. Each page of up to ``max_events`` rows is cut into batches of at most
``max_bytes`` (decompressed); an event bigger than that on its own is a permanent
failure (``oversized_event``) and is never sent. Per batch (reference §2.3, §(b)):

- 200: per-event results (success/accepted/warning → success; duplicate; queued or
  pending → untouched; a missing entry → untouched; anything else → rejected);
- 413 or an ``oversized`` error: halve the batch; a single event → permanent failure;
- 400 with per-event details: those events are rejected, the rest are sent again;
- 400 without details: bisect down to the single event at fault;
- 401 (after the client's one refresh), 403, 408, 412 (protocol not served: the
  message carries the hub's upgrade guidance), 429, 5xx, no answer: the pass stops
  there (a whole-batch failure: no retry is counted, nothing is lost).

Each batch's outcomes are applied in one transaction before the next batch is sent,
so a crash repeats at most one batch (the hub answers ``duplicate``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spec_kitty.sync import categories
from spec_kitty.sync.batch import BatchAnswer, Limits
from spec_kitty.sync.queue import (
    DUPLICATE,
    FAILED_PERMANENT,
    PENDING,
    REJECTED,
    SUCCESS,
    EventQueue,
    Outcome,
    QueuedEvent,
)

Send = Callable[[Sequence[QueuedEvent]], BatchAnswer]
Progress = Callable[[int], None]
_SYNCED = {"success", "accepted", "warning"}
_LEAVE = {"queued", "pending"}


@dataclass
class Blocker:
    """Why a pass stopped early: a whole-batch failure."""

    category: str
    message: str
    status: int

    def to_json(self) -> dict[str, Any]:
        return {"category": self.category, "message": self.message, "http_status": self.status,
                "hint": categories.HINTS[self.category]}


@dataclass
class DrainSummary:
    """What one pass did. ``pending`` is the queue depth after it."""

    synced: int = 0
    duplicates: int = 0
    pending: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    blocker: Blocker | None = None
    batches: int = 0
    documents: dict[str, Any] | None = None  # set by sync now inside a project
    migrated: dict[str, Any] | None = None  # legacy rows moved first (sync now)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def categories(self) -> dict[str, int]:
        """Failed events per category, largest first."""
        return dict(Counter(f["category"] for f in self.failures).most_common())

    def to_json(self) -> dict[str, Any]:
        cats = self.categories()
        return {"synced": self.synced, "duplicates": self.duplicates, "pending": self.pending,
                "failed": self.failed, "batches": self.batches,
                "categories": {c: {"count": n, "hint": categories.HINTS[c]}
                               for c, n in cats.items()},
                "blocker": self.blocker.to_json() if self.blocker else None,
                "documents": self.documents, "migrated": self.migrated}


class _Stop(Exception):
    def __init__(self, blocker: Blocker) -> None:
        super().__init__(blocker.message)
        self.blocker = blocker


def _results(batch: Sequence[QueuedEvent], answer: BatchAnswer) -> list[Outcome]:
    outcomes = []
    for event in batch:
        status, error = answer.results.get(event.event_id, ("", ""))
        if status in _SYNCED:
            outcomes.append(Outcome(event.event_id, SUCCESS))
        elif status == DUPLICATE:
            outcomes.append(Outcome(event.event_id, DUPLICATE))
        elif status in _LEAVE or not status:
            outcomes.append(Outcome(event.event_id, PENDING))
        else:
            reason = error or f"rejected ({status})"
            outcomes.append(Outcome(event.event_id, REJECTED, reason,
                                    categories.categorize(reason)))
    return outcomes


def _oversized(answer: BatchAnswer) -> bool:
    return answer.status == 413 or "oversized" in f"{answer.error_code} {answer.error}".lower()


class Drainer:
    """Runs passes over one queue with one ``send`` function (see the module docstring)."""

    def __init__(self, queue: EventQueue, send: Send, limits: Limits,
                 progress: Progress | None = None) -> None:
        self.queue, self.send, self.limits = queue, send, limits
        self.progress = progress or (lambda _n: None)
        self.summary = DrainSummary()

    def _record(self, outcomes: list[Outcome], batch: Sequence[QueuedEvent]) -> None:
        self.queue.apply(outcomes, {event.event_id: event for event in batch})
        for outcome in outcomes:
            if outcome.status == SUCCESS:
                self.summary.synced += 1
            elif outcome.status == DUPLICATE:
                self.summary.duplicates += 1
            elif outcome.status in (REJECTED, FAILED_PERMANENT):
                self.summary.failures.append({"event_id": outcome.event_id,
                                              "error": outcome.reason,
                                              "category": outcome.category,
                                              "permanent": str(outcome.status ==
                                                               FAILED_PERMANENT).lower()})
        self.progress(len(outcomes))

    def _deliver(self, batch: Sequence[QueuedEvent]) -> None:
        if not batch:
            return
        answer = self.send(batch)
        self.summary.batches += 1
        if answer.status == 200:
            self._record(_results(batch, answer), batch)
        elif _oversized(answer):
            if len(batch) == 1:
                reason = answer.error or "the event is larger than the hub accepts"
                self._record([Outcome(batch[0].event_id, FAILED_PERMANENT, reason,
                                      categories.OVERSIZED_EVENT)], batch)
            else:
                self._halves(batch)
        elif answer.status == 400 and answer.details:
            bad = [e for e in batch if e.event_id in answer.details]
            self._record([Outcome(e.event_id, REJECTED, answer.details[e.event_id],
                                  categories.categorize(answer.details[e.event_id]))
                          for e in bad], bad)
            if bad:  # without them, the rest may go through
                self._deliver([e for e in batch if e.event_id not in answer.details])
            else:
                self._bisect_or_reject(batch, answer)
        elif answer.status == 400:
            self._bisect_or_reject(batch, answer)
        else:
            message = answer.error or f"HTTP {answer.status}"
            if answer.guidance:
                message = f"{message} {answer.guidance}"
            raise _Stop(Blocker(categories.category_of_status(answer.status), message,
                                answer.status))

    def _halves(self, batch: Sequence[QueuedEvent]) -> None:
        middle = len(batch) // 2
        self._deliver(batch[:middle])
        self._deliver(batch[middle:])

    def _bisect_or_reject(self, batch: Sequence[QueuedEvent], answer: BatchAnswer) -> None:
        if len(batch) > 1:
            self._halves(batch)
            return
        reason = answer.error or "the hub refused the event (400)"
        self._record([Outcome(batch[0].event_id, REJECTED, reason,
                              categories.categorize(reason, answer.error_code))], batch)

    def _batches(self, page: list[QueuedEvent]) -> list[list[QueuedEvent]]:
        budget = self.limits.max_bytes - len(b'{"events":[]}')
        batches: list[list[QueuedEvent]] = []
        current: list[QueuedEvent] = []
        used = 0
        for event in page:
            size = event.size + 1
            if size > budget:
                self._record([Outcome(event.event_id, FAILED_PERMANENT,
                                      f"the event is {event.size} bytes; a batch may carry "
                                      f"{self.limits.max_bytes}", categories.OVERSIZED_EVENT)],
                             [event])
                continue
            if current and used + size > budget:
                batches.append(current)
                current, used = [], 0
            current.append(event)
            used += size
        if current:
            batches.append(current)
        return batches

    def run(self) -> DrainSummary:
        """One pass over the queue; returns (and keeps) the summary."""
        after = 0
        try:
            while page := self.queue.peek(self.limits.max_events, after):
                after = page[-1][0]
                for batch in self._batches([event for _, event in page]):
                    self._deliver(batch)
        except _Stop as stop:
            self.summary.blocker = stop.blocker
        self.summary.pending = self.queue.depth()
        return self.summary
