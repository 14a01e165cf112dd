"""``spec-kitty auth ...``: log in to a hub, show and check the session, log out.

Registered as a hosted group: with the rollout gate off it is hidden and refuses (see
:mod:`spec_kitty.cli.lazy`). Output is plain text (no rich import: ``auth status``
is on a 0.2 s budget) or, with ``--json``, exactly one JSON object. Prompts of the login
flows go to stderr so that ``--json`` stdout stays one object.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app(no_args_is_help=True, help="Log in to a team hub and manage the session.")


@app.callback()
def _auth() -> None:
    """Log in to a team hub and manage the session."""
    from spec_kitty.hosted.gate import require_enabled

    require_enabled()


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _prompt(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "no expiry given"
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{value}{unit}" for value, unit in parts if value][:2]
    return "expires in " + " ".join(shown)


def _show_url(url: str, opened: bool) -> None:
    if opened:
        _prompt("Your browser was opened to log in. If it did not open, visit:")
    else:
        _prompt("Open this URL in a browser to log in:")
    _prompt(f"  {url}")
    _prompt("Waiting for the hub to redirect back (up to 5 minutes)...")


def _show_device_code(grant: Any) -> None:
    _prompt(f"To log in, open {grant.verification_uri} and enter the code: {grant.user_code}")
    if grant.verification_uri_complete:
        _prompt(f"  (or open {grant.verification_uri_complete})")
    _prompt(f"Waiting for approval (the code expires in {int(grant.expires_in)} s)...")


@app.command("login", epilog=options.examples(
    "spec-kitty auth login", "spec-kitty auth login --headless --json"))
def login(
    headless: bool = typer.Option(False, "--headless",
                                  help="Device flow: print a code to approve elsewhere."),
    no_browser: bool = typer.Option(False, "--no-browser",
                                    help="Print the login URL instead of opening a browser."),
    force: bool = typer.Option(False, "--force", help="Log in again even if logged in, "
                               "and even if it leaves events queued for another account."),
    json_out: bool = options.JSON,
) -> None:
    """Log in to the configured hub (browser with PKCE, or --headless device flow)."""
    from spec_kitty.auth.login import LoginUI
    from spec_kitty.auth.login import login as run_login
    from spec_kitty.sync.boundary.switch import SwitchGuard

    ui = LoginUI(show_authorize_url=_show_url, show_device_code=_show_device_code)
    guard = SwitchGuard(force)
    result = run_login("device" if headless else "browser", ui, force=force,
                       open_browser=not no_browser, switch_guard=guard)
    guard.settle()
    session = result.session
    if guard.stranded is not None:
        left = guard.stranded
        _prompt(f"Note: {left['pending']} event(s) stay queued for {left['user']} on "
                f"{left['server_url']} (team {left['team']}); log in as them again to "
                "deliver them.")
    if json_out:
        emit_json({"result": "already_logged_in" if result.already_logged_in else "logged_in",
                   "server_url": session.server_url,
                   "user": {"id": session.user_id, "email": session.email,
                            "name": session.name},
                   "default_team_id": session.default_team_id,
                   "session_id": session.session_id, "auth_method": session.auth_method,
                   "stranded_events": guard.stranded})
        return
    team = session.default_team
    if result.already_logged_in:
        _out(f"Already logged in to {session.server_url} as {session.email}. "
             "Use --force to log in again.")
    else:
        _out(f"Logged in to {session.server_url} as {session.email}"
             + (f" (default team: {team.name})." if team else "."))


@app.command("status", epilog=options.examples(
    "spec-kitty auth status", "spec-kitty auth status --json"))
def status(json_out: bool = options.JSON) -> None:
    """Who is logged in, to which hub, teams, token lifetimes and storage.

    Exit 0, logged in or not; 1 when the session file is refused or unreadable.
    """
    from spec_kitty.auth.status import status_report

    report = status_report()
    if json_out:
        emit_json(report)
        return
    problem = report["server_url_problem"]
    if not report["logged_in"] and problem:
        _out(f"Not logged in, and the hub URL is refused: {problem['error']}")
        _out(f"  {problem['remediation']}")
        return
    if not report["logged_in"]:
        hub = report["configured_server_url"] or "no hub configured"
        _out(f"Not logged in ({hub}). Run `spec-kitty auth login`.")
        return
    name = f"{report['name']} <{report['email']}>" if report["name"] else report["email"]
    _out(f"Logged in to {report['server_url']} as {name}")
    if problem:
        _out(f"  Note: {problem['error']}")
    if not report["server_matches_config"]:
        _out(f"  Note: the configured hub is {report['configured_server_url']}; "
             "run `spec-kitty auth login` to switch.")
    _out(f"  User id:        {report['user_id']}")
    _out("  Teams:")
    for team in report["teams"]:
        marks = [m for m, on in (("private", team["is_private_teamspace"]),
                                 ("default", team["is_default"])) if on]
        star = "*" if team["is_default"] else " "
        _out(f"   {star} {team['name']} ({team['id']})  {team['role'] or '-'}"
             + (f"  [{', '.join(marks)}]" if marks else ""))
    _out(f"  Access token:   {_duration(report['access_token_expires_in_seconds'])}")
    _out(f"  Refresh token:  {_duration(report['refresh_token_expires_in_seconds'])}")
    _out(f"  Storage:        Encrypted session file ({report['storage']['path']})")
    _out(f"  Session id:     {report['session_id']}")
    _out(f"  Auth method:    {report['auth_method_label']}")


@app.command("whoami", epilog=options.examples(
    "spec-kitty auth whoami --json"))
def whoami(json_out: bool = options.JSON) -> None:
    """The logged-in user (exit 1 when logged out)."""
    from spec_kitty.auth.errors import NotLoggedIn
    from spec_kitty.auth.storage import SessionStore

    session = SessionStore().load()
    if session is None:
        raise NotLoggedIn()
    team = session.default_team
    if json_out:
        emit_json({"user": {"id": session.user_id, "email": session.email,
                            "name": session.name}, "server_url": session.server_url,
                   "default_team": team.to_json() if team else None})
        return
    _out(f"{session.email} on {session.server_url}")


@app.command("logout", epilog=options.examples(
    "spec-kitty auth logout", "spec-kitty auth logout --json"))
def logout(json_out: bool = options.JSON) -> None:
    """Remove the local session (always) and revoke it on the hub (best effort)."""
    from spec_kitty.auth.login import logout as run_logout

    result = run_logout()
    session = result.session
    if json_out:
        emit_json({"result": "logged_out" if result.was_logged_in else "not_logged_in",
                   "server_url": session.server_url if session else None,
                   "revoked": result.revoked, "revoke_error": result.revoke_error})
        return
    if not result.was_logged_in:
        _out("Not logged in; nothing to do.")
    elif session is None:
        _out("Removed the local session file (it could not be read, so it was not revoked "
             "on the hub).")
    elif result.revoked:
        _out(f"Logged out of {session.server_url} ({session.email}); the hub revoked the "
             "session.")
    else:
        expiry = session.refresh_expires_at
        until = f" by {_iso(expiry)}" if expiry else ""
        _out(f"Logged out locally. The hub could not revoke the session ({result.revoke_error})"
             f"; it expires on its own{until}.")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


@app.command("doctor", epilog=options.examples(
    "spec-kitty auth doctor", "spec-kitty auth doctor --json"))
def doctor(json_out: bool = options.JSON) -> None:
    """Check hub URL, session file permissions, tokens and the hub's view of the session."""
    from spec_kitty.auth.doctor import doctor_report

    report = doctor_report()
    if json_out:
        payload = report.to_json()
        if not report.ok:
            payload = {"error": "auth doctor found problems", "error_code": "AUTH_DOCTOR_FAILED",
                       **payload}
        emit_json(payload)
    else:
        for check in report.checks:
            _out(f"[{check.status:>4}] {check.name}: {check.message}")
            if check.remediation and check.status != "ok":
                _out(f"       fix: {check.remediation}")
    if not report.ok:
        raise typer.Exit(1)
