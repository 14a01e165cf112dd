"""``spec-kitty dashboard``: start (or reuse), open or stop the browser dashboard."""

from __future__ import annotations

from pathlib import Path

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import console, emit_json

app = command_app()


def _project_roots(dirs: list[Path] | None) -> list[Path]:
    from spec_kitty.dashboard.projects import project_root_of
    from spec_kitty.repo.paths import find_project_root

    if not dirs:
        return [find_project_root()]
    return [project_root_of(directory) for directory in dirs]


def _open_in_browser(url: str) -> None:
    """webbrowser.open, with stdout silenced: a browser launcher that prints would break
    the one-JSON-object rule of --json (its children inherit our stdout)."""
    import os
    import sys
    import webbrowser

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        webbrowser.open(url)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@app.command("dashboard", epilog=options.examples(
    "spec-kitty dashboard --open",
    "spec-kitty dashboard --project ../api --project ../web --json",
    "spec-kitty dashboard --kill"))
def dashboard(
    port: int = typer.Option(None, "--port", min=1, max=65535,
                             help="Port to try first (else the first free one of 9237-9336)."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in your browser."),
    kill: bool = typer.Option(False, "--kill", help="Stop the running dashboard."),
    projects: list[Path] = typer.Option(
        None, "--project", help="Serve this project (repeat for several; default: the "
        "project you are in). The first one holds the lifecycle file."),
    json_out: bool = options.JSON,
) -> None:
    """Serve a live, read-only kanban of your missions on 127.0.0.1."""
    from spec_kitty.core.errors import UsageError

    roots = _project_roots(projects)
    if kill:
        if open_browser or port is not None:
            raise UsageError("--kill cannot be combined with --open or --port")
        from spec_kitty.dashboard.launcher import stop

        result = stop(roots[0])
        if json_out:
            emit_json(result)
        elif result["stopped"]:
            console().print(f"Stopped the dashboard (pid {result['pid']}).")
        else:
            console().print(f"No dashboard was running ({result['reason']}).")
        return

    from spec_kitty.dashboard.launcher import ensure_running

    launched = ensure_running(roots, port)
    url = launched.record.url
    if open_browser:
        _open_in_browser(url)
    if json_out:
        emit_json(launched.to_json())
        return
    state = "already running" if launched.reused else "started"
    console().print(f"Dashboard {state}: [bold]{url}[/bold] (pid {launched.record.pid})")
    for project in launched.projects:
        console().print(f"  {project.key}: {project.root}", markup=False)
    console().print("Stop it with `spec-kitty dashboard --kill`.", markup=False)
