"""Encryption at rest for provider secrets (Fernet: AES-128-CBC + HMAC-SHA256).

The key is never in the database. Where it comes from, first match wins:

1. ``SPEC_KITTY_HUB_TRACKER_KEY``: a Fernet key (32 url-safe base64 bytes, as made by
   ``spec-kitty-hub tracker keygen``);
2. ``SPEC_KITTY_HUB_TRACKER_KEY_FILE``: a file holding such a key;
3. embedded SQLite only: ``<database file>.tracker-key`` beside the database, created
   (mode 0600) on first use, so the default hub works with no setup.

A PostgreSQL hub needs (1) or (2), the same in every process, or connections cannot be
added or used (``TRACKER_KEY_MISSING``). Losing the key loses the stored secrets (the
connections must be added again); rotating it means re-adding them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from spec_kitty_hub.errors import HubError

KEY_ENV = "SPEC_KITTY_HUB_TRACKER_KEY"
KEY_FILE_ENV = "SPEC_KITTY_HUB_TRACKER_KEY_FILE"


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _sqlite_path(database_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(database_url[len(prefix):]) if database_url.startswith(prefix) else None


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except OSError as error:
        raise HubError(f"Cannot read the tracker key file {path}: {error.strerror}.",
                       "TRACKER_KEY_MISSING") from None


def resolve_key(database_url: str) -> str:
    """The Fernet key for this hub (see the module docstring for the order).

    Raises HubError ``TRACKER_KEY_MISSING`` when no key is configured for a PostgreSQL
    hub or the key file is unreadable, ``TRACKER_KEY_INVALID`` for a malformed key.
    """
    key = os.environ.get(KEY_ENV, "").strip()
    if not key and os.environ.get(KEY_FILE_ENV, "").strip():
        key = _read_key_file(Path(os.environ[KEY_FILE_ENV].strip()))
    if not key:
        database = _sqlite_path(database_url)
        if database is None:
            raise HubError(f"No tracker encryption key: set {KEY_ENV} (or {KEY_FILE_ENV}) "
                           "to the output of `spec-kitty-hub tracker keygen`, the same in "
                           "every hub process.", "TRACKER_KEY_MISSING")
        path = database.with_name(database.name + ".tracker-key")
        if not path.exists():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first; read theirs
            else:
                with os.fdopen(fd, "w", encoding="ascii") as out:
                    out.write(generate_key() + "\n")
        key = _read_key_file(path)
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise HubError("The tracker encryption key is not a Fernet key (32 url-safe "
                       "base64-encoded bytes).", "TRACKER_KEY_INVALID") from None
    return key


class SecretBox:
    """Seals and opens a connection's secret fields (a small JSON object)."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode("ascii"))

    def seal(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode("ascii")

    def open(self, ciphertext: str) -> dict[str, str]:
        """Raises HubError ``TRACKER_KEY_MISMATCH`` when sealed under another key."""
        try:
            data = json.loads(self._fernet.decrypt(ciphertext.encode("ascii")))
        except InvalidToken:
            raise HubError("A stored tracker secret cannot be decrypted with this hub's "
                           "key (was the key changed?). Add the connection again.",
                           "TRACKER_KEY_MISMATCH") from None
        return {str(k): str(v) for k, v in dict(data).items()}
