"""Rendering helpers shared by commands: one JSON object, or rich text for people."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any


def emit_json(payload: dict[str, Any]) -> None:
    """Write exactly one compact JSON object (and a newline) to stdout."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


@cache
def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@cache
def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    from rich.markup import escape

    err_console().print(f"[yellow]warning:[/yellow] {escape(message)}")


def note(message: str) -> None:
    console().print(message)
