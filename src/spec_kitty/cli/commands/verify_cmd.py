"""``spec-kitty verify-setup``."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import console, emit_json

app = command_app()

_STYLE = {"ok": "[green]ok[/green]  ", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


@app.command("verify-setup", epilog=options.examples("spec-kitty verify-setup --json"))
def verify_setup(
    json_out: bool = options.JSON,
) -> None:
    """Check git, the project configuration and the agent command files."""
    from rich.markup import escape

    from spec_kitty.services.project.verify_setup import verify_setup as run_checks

    report = run_checks()
    if json_out:
        emit_json(report.to_json())
    else:
        width = max((len(check.name) for check in report.checks), default=0)
        for check in report.checks:
            name = check.name.ljust(width)
            console().print(f"{_STYLE[check.status]} {name} {escape(check.detail)}")
        console().print("All checks passed." if report.ok else "Some checks failed.")
    if not report.ok:
        raise typer.Exit(1)
