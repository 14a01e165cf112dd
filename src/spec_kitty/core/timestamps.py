"""Event timestamps that always sort after what the log already holds.

The reducer orders events by their ``at`` strings, so a new event must compare
greater, as a string, than every ``at`` already in the log, even when the local
clock lags or older rows use another format (``...Z`` without a fraction).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MICROSECOND = timedelta(microseconds=1)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


def format_at(moment: datetime) -> str:
    """ISO-8601 UTC with a fixed-width microsecond fraction and ``+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_at(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timestamp_after(last: str | None, now: datetime) -> str:
    """``now``, unless that would not sort after ``last``; then the next value that does."""
    candidate = format_at(now)
    if last is None or candidate > last:
        return candidate
    previous = parse_at(last) or now
    candidate = format_at(previous + MICROSECOND)
    if candidate > last:
        return candidate
    # Only reached for odd formats such as "...:05Z": the next whole second sorts after.
    return format_at(previous.replace(microsecond=0) + timedelta(seconds=1))


def increasing_timestamps(last: str | None, now: datetime, count: int) -> list[str]:
    stamps: list[str] = []
    for _ in range(count):
        stamp = timestamp_after(stamps[-1] if stamps else last, now)
        stamps.append(stamp)
    return stamps
