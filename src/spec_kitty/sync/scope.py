"""Which queue file is in use: the auth scope (hub, user, team) of the current session.

Scope key (reference §1, classic): the hub URL (lower-cased, no trailing ``/``), the
user's e-mail and the team slug joined with ``|``. The team is ``[sync] team`` of
``config.toml`` when set (``spec-kitty sync team SLUG``), else the session's default
team (the private teamspace); the queue is
``<runtime>/queues/queue-<first 16 hex of SHA-256(key)>.db``. Switching user, team or
hub therefore never mixes events in one queue.

Reading the session means decrypting it (milliseconds), too slow for the emitter's
budget on every status write. The resolved scope (no secret in it) is therefore cached
in ``<runtime>/queues/active_scope.json`` together with the size and modification time
of the session file and of ``config.toml``; while those match, the cache is the answer.
Any login, logout, refresh or settings change rewrites one of them and so invalidates
the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_kitty.hosted.runtime import RuntimePaths

if TYPE_CHECKING:
    from spec_kitty.auth.session import Session


@dataclass(frozen=True, slots=True)
class SyncScope:
    """The hub, user and team events are queued for."""

    server_url: str
    user: str
    team_slug: str

    @property
    def key(self) -> str:
        return f"{self.server_url.lower().rstrip('/')}|{self.user}|{self.team_slug}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:16]

    def queue_path(self, paths: RuntimePaths) -> Path:
        return queues_dir(paths) / f"queue-{self.digest}.db"


def queues_dir(paths: RuntimePaths) -> Path:
    return paths.root / "queues"


def _cache_file(paths: RuntimePaths) -> Path:
    return queues_dir(paths) / "active_scope.json"


def _fingerprint(paths: RuntimePaths) -> list[int] | None:
    """Size and mtime of the session file and of config.toml (``[sync] team``)."""
    try:
        info = paths.session_file.stat()
    except OSError:
        return None
    try:
        config = paths.config_file.stat()
        config_key = [config.st_size, config.st_mtime_ns]
    except OSError:
        config_key = [0, 0]
    return [info.st_size, info.st_mtime_ns, *config_key]


def _from_session(paths: RuntimePaths) -> SyncScope | None:
    from spec_kitty.auth.storage import SessionStore

    session = SessionStore(paths).load()
    return None if session is None else scope_of(session, paths)


def scope_of(session: Session, paths: RuntimePaths) -> SyncScope:
    """The scope ``session`` would queue into (``[sync] team`` wins over its default)."""
    server_url = session.server_url
    if not server_url:  # a session written by the published CLI names no hub
        from spec_kitty.hosted.server import resolve_server_url

        configured = resolve_server_url(paths=paths)
        server_url = configured.url if configured else ""
    from spec_kitty.hosted.config import get_string

    chosen = get_string("sync", "team", paths)  # `spec-kitty sync team SLUG`
    team = session.default_team
    return SyncScope(server_url, session.email, chosen or (team.id if team else "no-team"))


def _write_cache(paths: RuntimePaths, scope: SyncScope, fingerprint: list[int]) -> None:
    from spec_kitty.hosted.runtime import ensure_private_dir

    ensure_private_dir(queues_dir(paths))
    path = _cache_file(paths)
    temp = path.with_name(f".active_scope.{os.getpid()}.tmp")
    temp.write_text(json.dumps({**asdict(scope), "session": fingerprint}), encoding="utf-8")
    os.replace(temp, path)


def _read_cache(paths: RuntimePaths, fingerprint: list[int]) -> SyncScope | None:
    try:
        data: Any = json.loads(_cache_file(paths).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("session") != fingerprint:
        return None
    values = [data.get(key) for key in ("server_url", "user", "team_slug")]
    texts = [value for value in values if isinstance(value, str) and value]
    return SyncScope(*texts) if len(texts) == 3 else None


def last_scope(paths: RuntimePaths) -> SyncScope | None:
    """The scope last resolved on this machine (the cache, whatever the session now is):
    after a logout it still names whose queue was in use."""
    try:
        data: Any = json.loads(_cache_file(paths).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    values = [data.get(key) for key in ("server_url", "user", "team_slug")]
    texts = [value for value in values if isinstance(value, str) and value]
    return SyncScope(*texts) if len(texts) == 3 else None


def current_scope(paths: RuntimePaths | None = None) -> SyncScope | None:
    """The scope of the stored session, or ``None`` when nobody is logged in.

    Uses the cache while the session file is unchanged; otherwise reads (decrypts) the
    session and refreshes the cache. Session-file errors propagate
    (:class:`~spec_kitty.auth.errors.SessionFileError`).
    """
    paths = paths or RuntimePaths.current()
    fingerprint = _fingerprint(paths)
    if fingerprint is None:
        return None
    cached = _read_cache(paths, fingerprint)
    if cached is not None:
        return cached
    scope = _from_session(paths)
    if scope is not None:
        _write_cache(paths, scope, fingerprint)
    return scope


def choose_team(slug: str, paths: RuntimePaths | None = None) -> None:
    """Store ``[sync] team``; it must be one of the logged-in user's teams.

    Raises :class:`~spec_kitty.auth.errors.NotLoggedIn` without a session and
    :class:`~spec_kitty.core.errors.SpecKittyError` (``TEAM_NOT_MEMBER``) otherwise.
    """
    from spec_kitty.auth.errors import NotLoggedIn
    from spec_kitty.auth.storage import SessionStore
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.hosted.config import set_setting

    paths = paths or RuntimePaths.current()
    session = SessionStore(paths).load()
    if session is None:
        raise NotLoggedIn()
    teams = [team.id for team in session.teams]
    if slug not in teams:
        raise SpecKittyError(f"You are not a member of team {slug!r} (your teams: "
                             f"{', '.join(teams)}).", "TEAM_NOT_MEMBER",
                             details={"teams": teams},
                             hint="If you were added recently, run `spec-kitty auth login "
                             "--force` to refresh your teams.")
    set_setting("sync", "team", slug, paths)
