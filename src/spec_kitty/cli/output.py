"""Rendering helpers shared by commands: one JSON object, or rich text for people.

Output never fails on the terminal's encoding. ``--json`` is always valid JSON: written
as UTF-8 text when stdout can take it, with ASCII escapes (``"Caf\\u00e9"``) when it
cannot (``PYTHONIOENCODING=cp1252``, a C locale, ...). Text for people degrades instead:
characters the stream cannot encode become ``?``.
"""

from __future__ import annotations

import codecs
import json
import sys
from functools import cache
from typing import Any, TextIO


def can_encode(text: str, stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stdout) can write ``text`` so that it reads back the
    same: no encoding error, and no character that the encoding maps onto another one
    (Shift-JIS writes ``¥`` as byte 0x5C, which reads back as a backslash)."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        if codecs.lookup(encoding).name == "utf-8":
            if not text.isascii():
                text.encode("utf-8")  # raises for a lone surrogate
            return True
        return text.encode(encoding).decode(encoding) == text
    except (LookupError, UnicodeError):
        return False


def _tolerant(stream: TextIO) -> None:
    """Let a non-UTF-8 text stream replace what it cannot encode instead of raising."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    reconfigure = getattr(stream, "reconfigure", None)
    if not utf8 and reconfigure is not None and getattr(stream, "errors", "") == "strict":
        reconfigure(errors="replace")


def emit_json(payload: dict[str, Any]) -> None:
    """Write exactly one compact JSON object (and a newline) to stdout.

    Non-ASCII text stays readable on UTF-8 streams and is escaped otherwise, so the
    line is valid JSON whatever the terminal's encoding.
    """
    text = json.dumps(payload, ensure_ascii=False, default=str)
    if not can_encode(text):
        text = json.dumps(payload, ensure_ascii=True, default=str)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def write_text(text: str) -> None:
    """Write raw text (a prompt, the charter, a brief) to stdout, byte for byte when the
    terminal can take it, with ``?`` for what it cannot."""
    _tolerant(sys.stdout)
    sys.stdout.write(text)
    sys.stdout.flush()


@cache
def console() -> Any:
    from rich.console import Console

    _tolerant(sys.stdout)
    return Console(highlight=False, soft_wrap=True)


@cache
def err_console() -> Any:
    from rich.console import Console

    _tolerant(sys.stderr)
    return Console(stderr=True, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    from rich.markup import escape

    err_console().print(f"[yellow]warning:[/yellow] {escape(message)}")


def note(message: str) -> None:
    console().print(message)
