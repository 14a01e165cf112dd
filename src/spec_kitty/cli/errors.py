"""How a failure becomes output: one JSON object, or a message on stderr (no typer here).

Shared by the typer application (:mod:`spec_kitty.cli.app`) and the fast path
(:mod:`spec_kitty.cli.fast`), so both answer a failure with the same bytes and exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def render_error(exc: Any, as_json: bool) -> int:
    """Print a :class:`~spec_kitty.core.errors.SpecKittyError`; return its exit code."""
    from spec_kitty.cli.output import emit_json, err_console

    if as_json:
        emit_json(exc.to_json())
    else:
        from rich.markup import escape

        err_console().print(f"[bold red]Error:[/bold red] {escape(exc.message)}")
        if exc.hint:
            err_console().print(f"[dim]{escape(exc.hint)}[/dim]")
    return int(exc.exit_code)


def internal_error(exc: Exception, as_json: bool) -> int:
    """The last resort for an unexpected exception: never a traceback unless debugging."""
    from spec_kitty.core.errors import SpecKittyError

    if os.environ.get("SPEC_KITTY_DEBUG"):
        raise exc
    internal = SpecKittyError(
        f"internal error: {type(exc).__name__}: {exc}",
        "INTERNAL_ERROR",
        hint="Re-run with SPEC_KITTY_DEBUG=1 for a traceback and report it.",
    )
    return render_error(internal, as_json)


def guarded(call: Callable[[], int], as_json: bool) -> int:
    """Run a command body the way the application does: errors become output, not tracebacks."""
    from spec_kitty.core.errors import SpecKittyError

    try:
        return call()
    except SpecKittyError as exc:
        return render_error(exc, as_json)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the last resort, as in cli.app.run
        return internal_error(exc, as_json)
