"""Click exception types, wherever this typer release keeps them."""

from __future__ import annotations

from typer import Abort

try:  # typer >= 0.22 vendors click
    from typer._click.exceptions import (  # type: ignore[import-not-found]
        ClickException,
        NoArgsIsHelpError,
        UsageError,
    )
except ImportError:  # pragma: no cover - older typer depends on click itself
    from click.exceptions import (  # type: ignore[no-redef]
        ClickException,
        NoArgsIsHelpError,
        UsageError,
    )

__all__ = ["Abort", "ClickException", "NoArgsIsHelpError", "UsageError"]
