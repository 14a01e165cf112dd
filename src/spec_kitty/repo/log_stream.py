"""Stream ``status.events.jsonl`` from a file descriptor: lines, a running CRC, the fold.

A cold read never holds the log in memory: it reads 1 MiB at a time, parses and
folds each line as it passes, and keeps only the per-WP fold (see
:mod:`spec_kitty.core.reducer`). The same pass computes the CRC-32 of the bytes, the
offset just after the last newline (``data_end``: where the next writer appends) and
the line-ending style, which the snapshot cache records.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from spec_kitty.core.events import (
    ANNOTATION,
    BOM,
    PROBLEM,
    RETROSPECTIVE,
    TRANSITION,
    LogProblem,
    file_encoding_problem,
    is_torn,
    parse_line,
)
from spec_kitty.core.reducer import LogFold, Row, fold_log

CHUNK = 1 << 20
_FOLDED = (TRANSITION, ANNOTATION, RETROSPECTIVE)


@dataclass
class StreamResult:
    """What one pass over ``[0, size)`` of the log found.

    ``crc`` covers every byte read, ``data_crc`` the bytes before ``data_end`` (the
    offset after the last newline, which ends line ``lines``); ``torn_tail`` is the
    line number of an unfinished final write, ``problems`` every unreadable line (a
    strict reader refuses the log).
    """

    fold: LogFold
    size: int = 0
    crc: int = 0
    data_end: int = 0
    data_crc: int = 0
    lines: int = 0
    line_ending: str = "\n"
    bom: bool = False
    torn_tail: int | None = None
    problems: list[LogProblem] = field(default_factory=list)


def crc_range(fd: int, start: int, end: int, crc: int = 0) -> int:
    """CRC-32 of bytes ``[start, end)`` of ``fd``, read in chunks (memory: one chunk)."""
    offset = start
    while offset < end:
        chunk = os.pread(fd, min(CHUNK, end - offset), offset)
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
        offset += len(chunk)
    return crc


def _lines(fd: int, limit: int | None, result: StreamResult) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, bytes, terminated)``; fills size, CRCs, data_end and line ending."""
    offset = lineno = crc = 0
    pending = b""
    last_terminated = b""
    while limit is None or offset < limit:
        want = CHUNK if limit is None else min(CHUNK, limit - offset)
        chunk = os.pread(fd, want, offset)
        if not chunk:
            break
        crc_before, crc = crc, zlib.crc32(chunk, crc)
        offset += len(chunk)
        data = pending + chunk if pending else chunk
        parts = data.split(b"\n")
        pending = parts.pop()
        if parts:  # the last newline is in this chunk, so pending is a suffix of it
            last_terminated = parts[-1]
            result.data_end = offset - len(pending)
            result.data_crc = zlib.crc32(memoryview(chunk)[: len(chunk) - len(pending)],
                                          crc_before)
        for raw in parts:
            lineno += 1
            yield lineno, raw, True
    result.size, result.crc, result.lines = offset, crc, lineno
    result.line_ending = "\r\n" if last_terminated.endswith(b"\r") else "\n"
    if pending:
        yield lineno + 1, pending, False


def _rows(fd: int, limit: int | None, result: StreamResult | None,
          collect: bool) -> Iterator[Row]:
    sink = result if result is not None else StreamResult(LogFold())
    known: set[str] = set()
    for lineno, raw, terminated in _lines(fd, limit, sink):
        kind, value = parse_line(raw, known)
        if kind in _FOLDED:
            yield kind, value
        elif kind == PROBLEM and collect:
            if not terminated and is_torn(raw):
                sink.torn_tail = lineno
            else:
                sink.problems.append(LogProblem(lineno, value.message, value.encoding))


def stream_fold(fd: int) -> StreamResult:
    """One pass over the whole log (a second only for logs out of replay order)."""
    result = StreamResult(LogFold())
    head = os.pread(fd, 4, 0)
    result.bom = head[:3] == BOM
    problem = file_encoding_problem(head)
    if problem is not None:
        result.problems.append(problem)
        return result
    first = _rows(fd, None, result, collect=True)
    result.fold = fold_log(first, lambda: _rows(fd, result.size, None, collect=False))
    return result
