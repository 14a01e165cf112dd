"""What ``auth status`` reports: local only (no network, no httpx import), on a 0.2 s
budget for the whole process, so it imports as little as it can."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from spec_kitty.auth.session import AUTH_METHODS, utc_now
from spec_kitty.auth.storage import SessionStore
from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.runtime import RuntimePaths


def seconds_left(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else int((moment - now).total_seconds())


def status_report(paths: RuntimePaths | None = None) -> dict[str, Any]:
    """The session as ``auth status --json`` prints it; never contains a token.

    ``{"logged_in": false, ...}`` when there is no session. ``server_url_problem`` is
    ``{"error", "error_code", "remediation"}`` when the configured hub URL is unacceptable
    (e.g. plain http to a remote host), else null. Raises
    :class:`SessionFileError` when the session file is refused or unreadable.
    """
    from spec_kitty.hosted.server import resolve_server_url

    paths = paths or RuntimePaths.current()
    store = SessionStore(paths)
    session = store.load()
    problem: dict[str, str] | None = None
    try:
        configured = resolve_server_url(paths=paths)
    except SpecKittyError as exc:  # reported, not raised: status works without a hub
        configured = None
        problem = {"error": exc.message, "error_code": exc.code, "remediation": exc.hint or ""}
    base: dict[str, Any] = {
        "configured_server_url": configured.url if configured else None,
        "server_url_problem": problem,
        "storage": {"backend": "encrypted_file", "path": str(store.path)},
    }
    if session is None:
        return {"logged_in": False, **base}
    if not session.server_url and configured is not None:  # written by the published CLI
        session = replace(session, server_url=configured.url)
    now = utc_now()
    teams = [{**team.to_json(), "is_default": team.id == session.default_team_id}
             for team in session.teams]
    public = session.public()
    return {
        "logged_in": True, **base, **public, "teams": teams,
        "user": {"id": session.user_id, "email": session.email, "name": session.name},
        "auth_method_label": AUTH_METHODS.get(session.auth_method, session.auth_method),
        "access_token_expires_in_seconds": seconds_left(session.access_expires_at, now),
        "refresh_token_expires_in_seconds": seconds_left(session.refresh_expires_at, now),
        "access_token_valid": session.access_usable(now),
        "refresh_token_valid": session.refresh_usable(now),
        "server_matches_config": configured is None or configured.url == session.server_url,
    }
