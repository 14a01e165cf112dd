"""Which queue file is in use: the auth scope (hub, user, team) of the current session.

Scope key (reference §1, classic): the hub URL (lower-cased, no trailing ``/``), the
user's e-mail and the team slug joined with ``|``; the queue is
``<runtime>/queues/queue-<first 16 hex of SHA-256(key)>.db``. Switching user, team or
hub therefore never mixes events in one queue.

Reading the session means decrypting it (milliseconds), too slow for the emitter's
budget on every status write. The resolved scope (no secret in it) is therefore cached
in ``<runtime>/queues/active_scope.json`` together with the session file's size and
modification time; while those match, the cache is the answer. Any login, logout or
refresh rewrites the session file and so invalidates the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spec_kitty.hosted.runtime import RuntimePaths


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
    try:
        info = paths.session_file.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _from_session(paths: RuntimePaths) -> SyncScope | None:
    from spec_kitty.auth.storage import SessionStore

    session = SessionStore(paths).load()
    if session is None:
        return None
    server_url = session.server_url
    if not server_url:  # a session written by the published CLI names no hub
        from spec_kitty.hosted.server import resolve_server_url

        configured = resolve_server_url(paths=paths)
        server_url = configured.url if configured else ""
    team = session.default_team
    return SyncScope(server_url, session.email, team.id if team else "no-team")


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
