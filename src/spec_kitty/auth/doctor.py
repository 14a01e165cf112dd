"""What ``auth doctor`` checks, each with its remediation.

Local checks first (hub URL, file permissions, the session, token lifetimes), then the
hub: one ``HEAD`` (2 s), then ``GET /api/v1/session-status`` through the authenticated
client, which refreshes the token if needed. Later checks are skipped when an earlier
one makes them meaningless.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from typing import Any, Literal

from spec_kitty.auth.errors import SessionFileError
from spec_kitty.auth.session import Session, utc_now
from spec_kitty.auth.status import seconds_left
from spec_kitty.auth.storage import SessionStore
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.runtime import RuntimePaths, loose_permission_bits

CheckStatus = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    message: str
    remediation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "message": self.message,
                "remediation": self.remediation}


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def add(self, name: str, status: CheckStatus, message: str,
            remediation: str | None = None) -> None:
        self.checks.append(Check(name, status, message, remediation))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [check.to_json() for check in self.checks]}


def doctor_report(paths: RuntimePaths | None = None) -> DoctorReport:
    """Every check in order, each with its remediation; later checks are skipped when an
    earlier one makes them meaningless."""
    from spec_kitty.hosted.server import ServerUrl, resolve_server_url

    paths = paths or RuntimePaths.current()
    report = DoctorReport()
    server: ServerUrl | None = None
    try:
        server = resolve_server_url(paths=paths)
    except SpecKittyError as exc:
        report.add("hub_url", "fail", exc.message, exc.hint)
    else:
        if server is None:
            report.add("hub_url", "fail", "No hub URL is configured.",
                       f"Set SPEC_KITTY_SAAS_URL, or [sync] server_url in {paths.config_file}.")
        else:
            report.add("hub_url", "ok", f"{server.url} (from {server.source})")
    _check_permissions(report, paths)
    session = _check_session(report, paths)
    _check_tokens(report, session)
    _check_hub(report, server, session, paths)
    return report


def _check_permissions(report: DoctorReport, paths: RuntimePaths) -> None:
    problems = []
    for path, expected in ((paths.auth_dir, "700"), (paths.session_file, "600"),
                           (paths.salt_file, "600")):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if loose_permission_bits(mode):
            problems.append(f"{path} is {stat.S_IMODE(mode):04o} (chmod {expected} {path})")
    if problems:
        report.add("storage_permissions", "fail", "; ".join(problems),
                   "Tighten the permissions as shown, or run `spec-kitty auth login --force` "
                   "if others may have read the session.")
    else:
        report.add("storage_permissions", "ok", f"{paths.auth_dir} is private to you")


def _check_session(report: DoctorReport, paths: RuntimePaths) -> Session | None:
    try:
        session = SessionStore(paths).load()
    except SessionFileError as exc:
        report.add("session", "fail", exc.message, exc.hint)
        return None
    if session is None:
        report.add("session", "fail", "Not logged in.", "Run `spec-kitty auth login`.")
        return None
    report.add("session", "ok", f"{session.email} on {session.server_url} "
                                f"(session {session.session_id})")
    return session


def _check_tokens(report: DoctorReport, session: Session | None) -> None:
    if session is None:
        report.add("tokens", "skip", "No session.")
        return
    now = utc_now()
    if not session.refresh_usable(now):
        report.add("tokens", "fail", "The refresh token has expired.",
                   "Run `spec-kitty auth login`.")
    elif not session.access_usable(now):
        report.add("tokens", "ok", "The access token has expired; it is refreshed on the "
                                   "next request.")
    else:
        left = seconds_left(session.access_expires_at, now)
        report.add("tokens", "ok", f"The access token is valid for {left} more seconds.")


def _check_hub(report: DoctorReport, server: Any, session: Session | None,
               paths: RuntimePaths) -> None:
    from spec_kitty.hosted.readiness import PROBE_TIMEOUT_SECONDS, head_probe

    url = server.url if server is not None else (session.server_url if session else None)
    if url is None:
        report.add("hub_reachable", "skip", "No hub to contact.")
        report.add("hub_session", "skip", "No hub to contact.")
        return
    try:
        head_probe(url, PROBE_TIMEOUT_SECONDS)
    except Exception as exc:
        report.add("hub_reachable", "fail",
                   f"{url} did not answer within {PROBE_TIMEOUT_SECONDS:g} s ({exc}).",
                   "Start the hub or fix the URL, and check the network path to it.")
        report.add("hub_session", "skip", "The hub is unreachable.")
        return
    report.add("hub_reachable", "ok", f"{url} answers")
    if session is None:
        report.add("hub_session", "skip", "Not logged in.")
        return
    _check_hub_session(report, paths)


def _check_hub_session(report: DoctorReport, paths: RuntimePaths) -> None:
    from spec_kitty.auth.transport import authenticated_client

    try:
        with authenticated_client(paths) as client:
            response = client.get("/api/v1/session-status")
    except SpecKittyError as exc:
        report.add("hub_session", "fail", exc.message, exc.hint)
        return
    except Exception as exc:  # transport failures mid-check
        report.add("hub_session", "fail", f"The hub did not answer: {exc}.",
                   "Retry; check the hub's logs if it persists.")
        return
    if response.status_code == 200:
        report.add("hub_session", "ok", "The hub accepts this session.")
    elif response.status_code == 401:
        report.add("hub_session", "fail", "The hub no longer accepts this session.",
                   "Run `spec-kitty auth login`.")
    else:
        report.add("hub_session", "fail",
                   f"/api/v1/session-status answered {response.status_code}.",
                   "Check the hub's logs; the hub may be too old for this CLI.")
