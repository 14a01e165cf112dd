"""What a hosted command does while the rollout gate is off: say so, and nothing else.

The stand-in accepts any arguments (``--help`` included) so that no hosted module is
imported, no file is touched and no connection is attempted. Exit 1, or 0 for the
subcommands that treat "switched off" as nothing to do (``sync now``). With ``--json``
the answer is one object: ``{"error", "error_code": "ROLLOUT_DISABLED"}`` for exit 1,
``{"result": "disabled", "message"}`` for exit 0.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from spec_kitty.cli.lazy import command_app
from spec_kitty.hosted.gate import OFF_ERROR_CODE, OFF_MESSAGE


def gate_off_command(name: str, off_ok: tuple[str, ...]) -> Any:
    """A click command standing in for the hosted group ``name``."""
    stub = command_app()

    @stub.command(name, add_help_option=False, context_settings={
        "ignore_unknown_options": True, "allow_extra_args": True})
    def _disabled(ctx: typer.Context) -> None:
        # The subcommand is the first argument (the hosted groups take no options).
        succeed = bool(ctx.args) and ctx.args[0] in off_ok
        if "--json" in ctx.args:
            from spec_kitty.cli.output import emit_json

            emit_json({"result": "disabled", "message": OFF_MESSAGE} if succeed
                      else {"error": OFF_MESSAGE, "error_code": OFF_ERROR_CODE})
        else:
            (sys.stdout if succeed else sys.stderr).write(OFF_MESSAGE + "\n")
        raise typer.Exit(0 if succeed else 1)

    return typer.main.get_command(stub)
