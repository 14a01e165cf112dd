"""Hub settings: where the database is and how long credentials live.

Every value comes from arguments or ``SPEC_KITTY_HUB_*`` environment variables, so
several hub processes (``serve --workers N``) read the same configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from spec_kitty_hub.errors import HubError

DATABASE_ENV = "SPEC_KITTY_HUB_DATABASE_URL"
PUBLIC_URL_ENV = "SPEC_KITTY_HUB_PUBLIC_URL"
DEVICE_INTERVAL_ENV = "SPEC_KITTY_HUB_DEVICE_INTERVAL"
LOGIN_LIMIT_ACCOUNT_ENV = "SPEC_KITTY_HUB_LOGIN_LIMIT_ACCOUNT"
LOGIN_LIMIT_ADDRESS_ENV = "SPEC_KITTY_HUB_LOGIN_LIMIT_ADDRESS"
REFRESH_GRACE_ENV = "SPEC_KITTY_HUB_REFRESH_GRACE_SECONDS"
INGEST_MAX_EVENTS_ENV = "SPEC_KITTY_HUB_INGEST_MAX_EVENTS"
INGEST_MAX_BYTES_ENV = "SPEC_KITTY_HUB_INGEST_MAX_BYTES"
INGEST_CONCURRENCY_ENV = "SPEC_KITTY_HUB_INGEST_CONCURRENCY"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one hub process.

    ``database_url`` is a SQLAlchemy URL (``sqlite:///…`` or ``postgresql+psycopg://…``);
    ``public_url`` is the externally visible base URL (behind a reverse proxy), or
    ``None`` to derive it from each request. ``refresh_reuse_grace`` is how long after
    a rotation the previous refresh token is answered with 409
    ``refresh_replay_benign_retry`` instead of being treated as a replay (zero: never).
    """

    database_url: str
    public_url: str | None = None
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    refresh_reuse_grace: timedelta = timedelta(seconds=10)
    authorization_code_ttl: timedelta = timedelta(minutes=5)
    device_code_ttl: timedelta = timedelta(minutes=15)
    device_poll_interval: int = 5
    web_session_ttl: timedelta = timedelta(hours=12)
    login_window: timedelta = timedelta(minutes=15)
    login_limit_account: int = 5
    login_limit_address: int = 50
    # Event ingest (advertised by GET /api/v1/sync/health/): events per batch, bytes of
    # JSON per batch after decompression (also the cap on the raw body), and batches
    # one worker processes at once before answering 429.
    ingest_max_events: int = 1000
    ingest_max_bytes: int = 1 << 20
    ingest_concurrency: int = 8

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_database_url() -> str:
    """The embedded default: ``hub.sqlite3`` in the user data dir (created 0700)."""
    from platformdirs import user_data_path

    directory = user_data_path("spec-kitty-hub", appauthor=False)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{directory / 'hub.sqlite3'}"


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings; PostgreSQL always goes through psycopg 3.

    Raises HubError(``BAD_DATABASE_URL``) for anything that is neither SQLite nor
    PostgreSQL.
    """
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith(("postgresql+psycopg://", "sqlite:///")):
        return url
    if url and "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    raise HubError(
        f"Unsupported database URL {redact_url(url)!r}: use sqlite:///PATH or "
        "postgresql://USER@HOST/DB.",
        "BAD_DATABASE_URL",
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe for logs and errors)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def _positive_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        kind = "a positive" if minimum else "a non-negative"
        raise HubError(f"{name} must be {kind} integer, got {raw!r}.", "BAD_SETTING")
    return int(raw)


def load_settings(database: str | None = None, public_url: str | None = None) -> Settings:
    """Settings from arguments, then the environment, then the embedded default."""
    url = database or os.environ.get(DATABASE_ENV, "").strip() or default_database_url()
    public = public_url or os.environ.get(PUBLIC_URL_ENV, "").strip() or None
    return Settings(
        database_url=normalize_database_url(url),
        public_url=public.rstrip("/") if public else None,
        device_poll_interval=_positive_int(DEVICE_INTERVAL_ENV, 5),
        login_limit_account=_positive_int(LOGIN_LIMIT_ACCOUNT_ENV, 5),
        login_limit_address=_positive_int(LOGIN_LIMIT_ADDRESS_ENV, 50),
        refresh_reuse_grace=timedelta(seconds=_positive_int(REFRESH_GRACE_ENV, 10, minimum=0)),
        ingest_max_events=_positive_int(INGEST_MAX_EVENTS_ENV, 1000),
        ingest_max_bytes=_positive_int(INGEST_MAX_BYTES_ENV, 1 << 20),
        ingest_concurrency=_positive_int(INGEST_CONCURRENCY_ENV, 8),
    )
