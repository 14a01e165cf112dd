"""``spec-kitty sync status --check``, ``sync doctor``, ``sync migrate``: the sync boundary.

Registered on the ``sync`` group by :mod:`spec_kitty.cli.hosted.sync_cmd`. The work
happens in :mod:`spec_kitty.sync.boundary`; this module parses, calls and renders.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.output import emit_json


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def run_check(json_out: bool) -> None:
    """``sync status --check``: print the boundary report; exit 2 when incoherent."""
    from spec_kitty.sync.boundary.check import check_report

    report = check_report()
    if json_out:
        if not report["ok"]:
            report = {"error": "the sync boundary is incoherent", "error_code":
                      "SYNC_BOUNDARY_INCOHERENT", **report}
        emit_json(report)
    else:
        _render_check(report)
    if report["exit_code"]:
        raise typer.Exit(report["exit_code"])


def _render_check(report: dict[str, Any]) -> None:
    fg = report["foreground"]
    _out(f"CLI:          spec-kitty {fg['package_version']} ({fg['executable']})")
    _out(f"Hub:          {fg['server_url'] or 'not configured'}")
    _out("Account:      " + (f"{fg['user']} (team {fg['team_slug']})" if fg["logged_in"]
                             else "not logged in"))
    active, legacy = report["active_queue"], report["legacy_queue"]
    _out(f"Queue:        {active['path'] or '-'} ({active['depth']} pending)")
    _out(f"Legacy queue: {legacy['path']} ({legacy['depth']} rows)" if legacy["exists"]
         else "Legacy queue: none")
    daemon = report["daemon"]
    _out("Daemon:       " + {"running": f"running (pid {daemon.get('pid')}, port "
                                        f"{daemon.get('port')})",
                             "not_running": "not running",
                             "orphan": f"orphan record (pid {daemon.get('pid')} is gone)",
                             "invalid": "owner record unreadable"}.get(daemon["state"], "?"))
    hub = report["hub"]
    if hub is not None:
        _out("Ping:         " + (f"ok (protocol {hub['sync_protocol']})" if hub["reachable"]
                                 and not hub["error"] else
                                 f"failed: {hub['error']}"))
    for mismatch in report["mismatches"]:
        _out(f"  mismatch {mismatch['field']}: this CLI {mismatch['foreground']!r}, daemon "
             f"{mismatch['daemon']!r}")
    for problem in report["problems"]:
        _out(f"Problem:      {problem['message']}")
        _out(f"  fix: {problem['fix']}")
    _out("Boundary:     " + ("coherent" if report["ok"] else "INCOHERENT (exit 2)"))


def register(app: typer.Typer) -> None:
    """Add ``doctor`` and ``migrate`` to the sync group."""
    app.command("doctor", epilog=options.examples(
        "spec-kitty sync doctor",
        "spec-kitty sync doctor --fix",
        "spec-kitty sync doctor --json",
    ))(doctor)
    app.command("migrate", epilog=options.examples(
        "spec-kitty sync migrate",
        "spec-kitty sync migrate --json",
    ))(migrate)


def doctor(
    fix: bool = typer.Option(False, "--fix", help="First remove an orphan daemon owner "
                             "record and migrate legacy queue rows."),
    json_out: bool = options.JSON,
) -> None:
    """Check queue fullness, failures, token, hub, daemon and legacy rows (exit 1 on errors)."""
    from spec_kitty.sync.boundary.doctor import doctor_report

    report = doctor_report(fix=fix)
    if json_out:
        if not report["ok"]:
            report = {"error": f"sync doctor found {report['errors']} error(s)",
                      "error_code": "SYNC_DOCTOR_FAILED", **report}
        emit_json(report)
    else:
        for line in report["repaired"]:
            _out(f"[fixed] {line}")
        for finding in report["findings"]:
            _out(f"[{finding['severity']:>5}] {finding['check']}: {finding['message']}")
            if finding["fix"] and finding["severity"] != "ok":
                _out(f"        fix: {finding['fix']}")
    if not report["ok"]:
        raise typer.Exit(1)


def migrate(json_out: bool = options.JSON) -> None:
    """Move events from the legacy unscoped queue into your account's queue, losing none."""
    from spec_kitty.auth.errors import NotLoggedIn
    from spec_kitty.hosted.runtime import RuntimePaths
    from spec_kitty.sync.boundary.migrate import migrate_legacy
    from spec_kitty.sync.scope import current_scope

    paths = RuntimePaths.current()
    scope = current_scope(paths)
    if scope is None:
        raise NotLoggedIn()
    result = migrate_legacy(paths, scope)
    payload = result.to_json()
    if json_out:
        if result.error:
            payload = {"error": result.error, "error_code": "SYNC_MIGRATE_INCOMPLETE",
                       **payload}
        emit_json(payload)
    else:
        _out(f"Moved {result.moved} event(s) from {result.legacy_path} into "
             f"{result.scoped_path}; {result.already_present} were already there; "
             f"{result.left} left.")
        if result.error:
            _out(f"Stopped: {result.error}")
    if result.error:
        raise typer.Exit(1)
