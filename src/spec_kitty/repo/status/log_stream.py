"""Stream ``status.events.jsonl`` from a file descriptor: lines, a running CRC, the fold.

A cold read never holds the log in memory: it reads 1 MiB at a time, parses and
folds each line as it passes, and keeps only the per-WP fold (see
:mod:`spec_kitty.core.status.reducer`). The same pass computes the CRC-32 of the bytes, the
offset just after the last newline (``data_end``: where the next writer appends) and
the line-ending style, which the snapshot cache records.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from spec_kitty.core.status.events import (
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
from spec_kitty.core.status.reducer import LogFold, Row, finish

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


def stream_fold(fd: int) -> StreamResult:
    """Fold the whole log in one pass (a second only for a log out of replay order).

    The cyclic garbage collector is paused meanwhile: parsing allocates a dict per row
    and frees it at once (no cycles), and the collector's passes over those
    allocations would otherwise cost about as much as the parsing itself.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _stream_fold(fd)
    finally:
        if collecting:
            gc.enable()


def _stream_fold(fd: int) -> StreamResult:
    result = StreamResult(LogFold())
    head = os.pread(fd, 4, 0)
    result.bom = head[:3] == BOM
    problem = file_encoding_problem(head)
    if problem is not None:
        result.problems.append(problem)
        return result
    fold = result.fold
    offset = lineno = crc = 0
    pending = last_line = b""
    cut: tuple[bytes, int, int] | None = None  # (chunk, CRC before it, bytes up to its newline)
    while chunk := os.pread(fd, CHUNK, offset):
        crc_before, crc = crc, zlib.crc32(chunk, crc)
        offset += len(chunk)
        parts = (pending + chunk if pending else chunk).split(b"\n")
        pending = parts.pop()
        if parts:  # the last newline is in this chunk, so pending is a suffix of it
            last_line = parts[-1]
            cut = (chunk, crc_before, len(chunk) - len(pending))
            lineno = fold.feed(parts, lineno, result.problems)
    if cut is not None:
        chunk, crc_before, upto = cut
        result.data_end = offset - len(pending)
        result.data_crc = zlib.crc32(memoryview(chunk)[:upto], crc_before)
    result.size, result.crc, result.lines = offset, crc, lineno
    result.line_ending = "\r\n" if last_line.endswith(b"\r") else "\n"
    if pending:  # an unterminated last line: a row, a problem, or an unfinished write
        kind, value = parse_line(pending, fold.known_wps)
        if kind in _FOLDED:
            fold.add(kind, value)
        elif kind == PROBLEM and is_torn(pending):
            result.torn_tail = lineno + 1
        elif kind == PROBLEM:
            result.problems.append(dataclasses.replace(value, line=lineno + 1))
    result.fold = finish(fold, lambda: _rows(fd, offset))
    return result


def _rows(fd: int, limit: int) -> Iterator[Row]:
    """Every folded row of ``[0, limit)`` again, in file order (the rare second pass)."""
    known: set[str] = set()
    offset, pending = 0, b""
    while offset < limit and (chunk := os.pread(fd, min(CHUNK, limit - offset), offset)):
        offset += len(chunk)
        parts = (pending + chunk if pending else chunk).split(b"\n")
        pending = parts.pop()
        for raw in parts:
            kind, value = parse_line(raw, known)
            if kind in _FOLDED:
                yield kind, value
    if pending:
        kind, value = parse_line(pending, known)
        if kind in _FOLDED:
            yield kind, value
