"""``spec-kitty sync ...``: deliver queued status events to the team hub, and inspect them.

A hosted group: with the rollout gate off it is hidden, ``sync now`` says so and exits
0, the others refuse (see :mod:`spec_kitty.cli.lazy`). The work happens in
:mod:`spec_kitty.sync`; this module parses, calls and renders.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app(no_args_is_help=True,
                  help="Deliver status events to the team hub; inspect the queue.")


@app.callback()
def _sync() -> None:
    """Deliver status events to the team hub; inspect the queue."""
    from spec_kitty.hosted.gate import require_enabled

    require_enabled()


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _progress_bar(total: int, limits: Any) -> Any:
    """A rich progress bar on stderr for drains longer than one batch (else None)."""
    if total <= limits.max_events or not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    bar = Progress(transient=True, console=None)
    bar.start()
    task = bar.add_task("Syncing", total=total)

    def advance(count: int) -> None:
        bar.advance(task, count)
        if bar.finished:
            bar.stop()

    return advance


@app.command("now", epilog=options.examples(
    "spec-kitty sync now",
    "spec-kitty sync now --strict --report sync-failures.json",
    "spec-kitty sync now --json",
))
def now(
    report: Path | None = typer.Option(None, "--report", help="Write per-event failures to "
                                       "this JSON file.", dir_okay=False),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any event failed or "
                                "the drain was blocked."),
    json_out: bool = options.JSON,
) -> None:
    """Send queued events to the hub in batches and print what happened."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.repo.paths import ProjectPaths, find_project_root
    from spec_kitty.sync.categories import HINTS
    from spec_kitty.sync.now import run_sync, write_report

    try:
        project: ProjectPaths | None = ProjectPaths(find_project_root())
    except SpecKittyError:
        project = None  # outside a project: events only
    summary = run_sync(on_start=None if json_out else _progress_bar, project=project)
    if report is not None:
        write_report(report, summary)
    failed = bool(summary.failed or summary.blocker)
    payload = summary.to_json()
    if json_out:
        if strict and failed:
            payload = {"error": "some events were not delivered", "error_code":
                       "SYNC_INCOMPLETE", **payload}
        emit_json(payload)
    else:
        pending = f", Pending: {summary.pending}" if summary.pending else ""
        _out(f"Synced: {summary.synced}, Duplicates: {summary.duplicates}{pending}, "
             f"Failed: {summary.failed}")
        for category, count in summary.categories().items():
            _out(f"  {category}: {count}  -- {HINTS[category]}")
        docs = summary.documents
        if docs and (docs["pushed"] or docs["failed"]):
            _out(f"Documents: {docs['pushed']} pushed, {docs['unchanged']} unchanged, "
                 f"{len(docs['failed'])} failed")
        if docs and docs.get("protocol_refused"):
            _out(f"Documents stopped: {docs['protocol_refused']}")
        moved = summary.migrated
        if moved and moved["moved"]:
            _out(f"Migrated {moved['moved']} event(s) from the legacy queue first.")
        if summary.blocker is not None:
            _out(f"Stopped: {summary.blocker.message} ({summary.blocker.category})  -- "
                 f"{HINTS[summary.blocker.category]}")
        idle = not (summary.synced or summary.duplicates or summary.pending or failed)
        if idle and project is not None:
            # The queue only fills from status changes recorded while logged in; a
            # newcomer's first drain is empty although the project has a history.
            _out("Nothing was waiting. Status changes recorded before you logged in are not "
                 "queued: `spec-kitty sync backfill` queues them (delivered ones are skipped).")
        if report is not None:
            _out(f"Report written to {report}")
    if strict and failed:
        raise typer.Exit(1)


@app.command("status", epilog=options.examples(
    "spec-kitty sync status",
    "spec-kitty sync status --json",
    "spec-kitty sync status --check --json",
))
def status(
    check: bool = typer.Option(False, "--check", help="Compare this CLI with the daemon's "
                               "owner record, the queues and the hub; exit 2 when they "
                               "disagree."),
    json_out: bool = options.JSON,
) -> None:
    """Queue depth, oldest event, retries, top event types, blockers, hub, last sync."""
    if check:
        from spec_kitty.cli.hosted.sync_boundary_cmd import run_check

        run_check(json_out)
        return
    from spec_kitty.sync.status import status_report

    report = status_report()
    if json_out:
        emit_json(report)
        return
    queue = report["queue"]
    _out(f"Server:       {report['server_url'] or 'not configured'}")
    if report["scope"]:
        _out(f"Account:      {report['scope']['user']} (team {report['scope']['team']})")
    _out(f"Queue:        {queue['depth']} / {queue['max']} ({queue['percent']}%)")
    _out(f"Oldest event: {queue['oldest_age'] or '-'}")
    _out("Retries:      " + ", ".join(f"{k}: {v}" for k, v in queue["retry_histogram"].items()))
    if queue["top_event_types"]:
        _out("Event types:  " + ", ".join(f"{t['event_type']} {t['count']}"
                                          for t in queue["top_event_types"]))
    if queue["permanent_failures"]:
        _out(f"Failed:       {queue['permanent_failures']} event(s) dropped as permanent "
             "failures (see --json recent_failures)")
    for damaged in report["damaged_queue_files"]:
        _out(f"Damaged:      {damaged} was set aside; run `spec-kitty sync backfill`")
    last = report["last_sync"]
    _out("Last sync:    " + (f"{last['at']} (synced {last['synced']}, duplicates "
                             f"{last['duplicates']}, failed {last['failed']})" if last else
                             "never"))
    _daemon_lines(report["daemon"])
    if report["drain_ready"]:
        _out("Drain:        ready")
    else:
        _out("Drain:        blocked")
        for blocker in report["blockers"]:
            _out(f"  {blocker['code']}: {blocker['message']}")


def _daemon_lines(daemon: dict[str, Any]) -> None:
    if daemon["state"] == "running":
        _out(f"Daemon:       running (pid {daemon['pid']}, 127.0.0.1:{daemon['port']}, "
             f"version {daemon['package_version']})")
    else:
        _out("Daemon:       " + {"stale": "not running (stale owner record)",
                                 "invalid": "unreadable owner record"}.get(
                                     daemon["state"], "not running"))
    if daemon["coherent"]:
        _out("Boundary:     coherent")
    else:
        differs = f"differs in {', '.join(daemon['differs'])}; " if daemon["differs"] else ""
        _out(f"Boundary:     {differs}run `spec-kitty sync status --check`")


@app.command("diagnose", epilog=options.examples(
    "spec-kitty sync diagnose",
    "spec-kitty sync diagnose --json",
))
def diagnose(json_out: bool = options.JSON) -> None:
    """Validate every queued event against the published schemas (exit 1 if any fail)."""
    from spec_kitty.sync.status import diagnose_report

    report = diagnose_report()
    if json_out:
        if report["invalid"]:
            report = {"error": f"{report['invalid']} queued event(s) are invalid",
                      "error_code": "SYNC_EVENTS_INVALID", **report}
        emit_json(report)
    else:
        _out(f"Queued events: {report['total']}, valid: {report['valid']}, "
             f"invalid: {report['invalid']}")
        for result in report["results"]:
            for error in result["errors"]:
                _out(f"  {result['event_id']} {result['event_type']}: {error['field']}: "
                     f"{error['message']}")
    if report["invalid"]:
        raise typer.Exit(1)


@app.command("server", epilog=options.examples(
    "spec-kitty sync server",
    "spec-kitty sync server https://hub.example.com",
))
def server(
    url: str | None = typer.Argument(None, help="Set the hub URL (https://…, or http:// on "
                                     "loopback)."),
    json_out: bool = options.JSON,
) -> None:
    """Show the hub URL, or set it in ~/.spec-kitty/config.toml."""
    from spec_kitty.hosted.config import set_setting
    from spec_kitty.hosted.server import (
        CONFIG_KEY,
        CONFIG_SECTION,
        normalise_server_url,
        resolve_server_url,
    )

    if url is not None:
        clean = normalise_server_url(url, "sync server URL")
        path = set_setting(CONFIG_SECTION, CONFIG_KEY, clean)
        resolved = resolve_server_url()
        payload: dict[str, Any] = {"result": "set", "server_url": clean, "config_file":
                                   str(path), "effective_server_url":
                                   resolved.url if resolved else None,
                                   "source": resolved.source if resolved else None}
    else:
        resolved = resolve_server_url()
        payload = {"result": "shown", "server_url": resolved.url if resolved else None,
                   "source": resolved.source if resolved else None}
    if json_out:
        emit_json(payload)
        return
    if url is not None:
        _out(f"Hub set to {payload['server_url']} in {payload['config_file']}.")
        if payload["effective_server_url"] != payload["server_url"]:
            _out(f"Note: {payload['source']} overrides it with "
                 f"{payload['effective_server_url']}.")
    else:
        _out(f"{payload['server_url']} ({payload['source']})" if resolved else
             "No hub configured. Set one with `spec-kitty sync server URL`.")


@app.command("backfill", epilog=options.examples(
    "spec-kitty sync backfill",
    "spec-kitty sync backfill --resend-acknowledged --json",
))
def backfill(
    resend: bool = typer.Option(False, "--resend-acknowledged", help="Queue again even what "
                                "the hub acknowledged (it answers duplicate)."),
    json_out: bool = options.JSON,
) -> None:
    """Queue every event of this project's status logs the hub has not acknowledged."""
    from spec_kitty.repo.paths import ProjectPaths, find_project_root
    from spec_kitty.sync.backfill import backfill as run_backfill

    result = run_backfill(ProjectPaths(find_project_root()), resend_acknowledged=resend)
    if json_out:
        emit_json(result)
        return
    _out(f"Queued {result['queued']} event(s) from {len(result['missions'])} mission(s); "
         f"{result['already_known']} already queued or acknowledged.")
    if result["queued"]:
        _out("Run `spec-kitty sync now` to deliver them.")


@app.command("team", epilog=options.examples(
    "spec-kitty sync team",
    "spec-kitty sync team acme",
))
def team(
    slug: str | None = typer.Argument(None, help="The team to sync to (one of your teams)."),
    json_out: bool = options.JSON,
) -> None:
    """Show or set the team events are delivered to (default: your private teamspace)."""
    from spec_kitty.sync.scope import choose_team, current_scope

    if slug is not None:
        choose_team(slug)
    scope = current_scope()
    payload = {"result": "set" if slug else "shown",
               "team": scope.team_slug if scope else slug}
    if json_out:
        emit_json(payload)
    else:
        _out(f"Events are delivered to team {payload['team']}." if payload["team"] else
             "Not logged in; log in first (`spec-kitty auth login`).")


def _register_boundary() -> None:
    from spec_kitty.cli.hosted.sync_boundary_cmd import register

    register(app)


_register_boundary()


def _add_daemon_group() -> None:
    from spec_kitty.cli.hosted.sync_daemon_cmd import app as daemon_app

    app.add_typer(daemon_app, name="daemon")


_add_daemon_group()
