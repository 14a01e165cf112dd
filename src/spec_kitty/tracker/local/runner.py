"""Running ``bd``/``fp``: argv lists only (never a shell), bounded time, clear failures."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from spec_kitty.tracker.errors import LocalToolError

DEFAULT_TIMEOUT = 60.0


def run_tool(argv: Sequence[str], cwd: Path, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run ``argv`` in ``cwd`` and return stdout.

    Raises :class:`LocalToolError`: ``TRACKER_LOCAL_TOOL_MISSING`` when the program is
    not found, ``TRACKER_LOCAL_TOOL_TIMEOUT`` (retryable) after ``timeout`` seconds,
    ``TRACKER_LOCAL_TOOL_FAILED`` for a non-zero exit, with the tool's own message
    (its JSON ``error`` when it printed one).
    """
    program = argv[0]
    try:
        proc = subprocess.run(
            list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise LocalToolError(
            f"`{program}` was not found on PATH (needed by the tracker binding).",
            "TRACKER_LOCAL_TOOL_MISSING",
        ) from None
    except subprocess.TimeoutExpired:
        raise LocalToolError(
            f"`{program} {' '.join(argv[1:3])}` did not finish within {timeout:.0f} s.",
            "TRACKER_LOCAL_TOOL_TIMEOUT",
            retryable=True,
        ) from None
    if proc.returncode != 0:
        detail = proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}"
        try:
            parsed = json.loads(detail)
            if isinstance(parsed, dict) and parsed.get("error"):
                detail = str(parsed["error"])
        except ValueError:
            pass
        raise LocalToolError(f"`{program} {' '.join(argv[1:3])}` failed: {detail}")
    return proc.stdout
