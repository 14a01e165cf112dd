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


def _keep_argument_help() -> None:
    """click 8.5 gave ``Argument`` its own ``help`` and resets it to None after typer
    (< 0.22) has stored it, so positional arguments lost their description in
    ``--help``. Store it again after click's initialiser has run."""
    from typer.core import TyperArgument

    original = TyperArgument.__init__
    if getattr(original, "_keeps_help", False):
        return

    def __init__(self: TyperArgument, *args: object, help: str | None = None,
                 **kwargs: object) -> None:
        original(self, *args, help=help, **kwargs)  # type: ignore[arg-type]
        self.help = help

    __init__._keeps_help = True  # type: ignore[attr-defined]
    TyperArgument.__init__ = __init__  # type: ignore[method-assign]
    # typer lists arguments in its own "Arguments" section; click's new "Positional
    # arguments" section would repeat them.
    from typer.core import TyperCommand

    if hasattr(TyperCommand, "format_arguments"):
        TyperCommand.format_arguments = lambda self, ctx, formatter: None  # type: ignore


_keep_argument_help()
