"""Where the hub's tracker encryption key comes from, and what a wrong key does."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec_kitty_hub.errors import HubError
from spec_kitty_hub.tracker.crypto import (
    KEY_ENV,
    KEY_FILE_ENV,
    SecretBox,
    generate_key,
    resolve_key,
)


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def test_the_environment_wins_then_the_key_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    env_key, file_key = generate_key(), generate_key()
    key_file = tmp_path / "key"
    key_file.write_text(file_key + "\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    assert resolve_key("postgresql+psycopg://h/db") == file_key
    monkeypatch.setenv(KEY_ENV, env_key)
    assert resolve_key("postgresql+psycopg://h/db") == env_key


def test_embedded_sqlite_makes_a_private_key_file_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    first = resolve_key(url)
    path = tmp_path / "hub.sqlite3.tracker-key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert resolve_key(url) == first


def test_postgresql_without_a_key_and_bad_keys_are_clear_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(HubError) as missing:
        resolve_key("postgresql+psycopg://h/db")
    assert missing.value.code == "TRACKER_KEY_MISSING" and KEY_ENV in missing.value.message
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "absent"))
    with pytest.raises(HubError, match="Cannot read the tracker key file"):
        resolve_key("postgresql+psycopg://h/db")
    monkeypatch.setenv(KEY_ENV, "not-a-key")
    with pytest.raises(HubError) as invalid:
        resolve_key("postgresql+psycopg://h/db")
    assert invalid.value.code == "TRACKER_KEY_INVALID"


def test_sealed_secrets_open_only_with_their_key() -> None:
    box = SecretBox(generate_key())
    sealed = box.seal({"token": "ghp_secret"})
    assert "ghp_secret" not in sealed and box.open(sealed) == {"token": "ghp_secret"}
    with pytest.raises(HubError) as wrong:
        SecretBox(generate_key()).open(sealed)
    assert wrong.value.code == "TRACKER_KEY_MISMATCH"
