"""The encrypted session file: format, permissions, refusal, crashes and concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auth_helpers import sample_session
from spec_kitty.auth import storage
from spec_kitty.auth.errors import SessionFileError
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths

from helpers import parse_one_json, run_cli

ON = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(RuntimePaths(tmp_path / "rt"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_is_encrypted_private_and_atomic(store: SessionStore) -> None:
    assert store.load() is None and not store.paths.root.exists()
    session = sample_session()
    with store.lock():
        store.save(session)
    assert store.load() == session
    raw = store.path.read_bytes()
    envelope = json.loads(raw)
    assert set(envelope) == {"version", "nonce", "ciphertext"} and envelope["version"] == 2
    for secret in (b"SECRET", b"ada@example.com", b"acme"):
        assert secret not in raw
    assert _mode(store.paths.auth_dir) == 0o700
    assert _mode(store.path) == 0o600 and _mode(store.paths.salt_file) == 0o600
    assert _mode(store.paths.refresh_lock) == 0o600
    assert [p.name for p in store.paths.auth_dir.iterdir() if p.name.endswith(".tmp")] == []
    assert "SECRET" not in repr(session) and "SECRET" not in json.dumps(session.public())
    again = store.path.read_bytes()
    with store.lock():
        store.save(session)
    assert store.path.read_bytes() != again  # a fresh nonce every write
    assert store.delete() and not store.delete() and store.load() is None


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_group_or_other_bits_are_refused(store: SessionStore, mode: int) -> None:
    with store.lock():
        store.save(sample_session())
    store.path.chmod(mode)
    with pytest.raises(SessionFileError) as caught:
        store.load()
    assert caught.value.code == "SESSION_FILE_INSECURE"
    assert f"{mode:04o}" in caught.value.message
    assert f"chmod 600 {store.path}" in (caught.value.hint or "")
    store.path.chmod(0o600)
    store.paths.salt_file.chmod(mode)
    with pytest.raises(SessionFileError, match="session.salt has mode"):
        store.load()
    store.paths.salt_file.chmod(0o600)
    key_cache = store.paths.auth_dir / "session.key"
    assert store.load() is not None and key_cache.exists()
    key_cache.chmod(mode)  # the cached key is as secret as the salt: refused alike
    with pytest.raises(SessionFileError, match="session.key has mode"):
        store.load()
    assert _mode(key_cache) == mode  # not quietly rewritten


def test_a_0644_session_file_is_refused_by_the_cli(tmp_path: Path) -> None:
    cli_store = SessionStore(RuntimePaths(Path(os.environ["SPEC_KITTY_HOME"])))
    with cli_store.lock():
        cli_store.save(sample_session())
    assert run_cli(["auth", "status"], tmp_path, env=ON).returncode == 0
    cli_store.path.chmod(0o644)
    for command in (["auth", "status", "--json"], ["auth", "whoami", "--json"]):
        proc = run_cli(command, tmp_path, env=ON)
        assert proc.returncode == 1, proc.stdout
        answer = parse_one_json(proc.stdout)
        assert answer["error_code"] == "SESSION_FILE_INSECURE"
        assert "mode 0644" in answer["error"]
        assert f"chmod 600 {cli_store.path}" in answer["remediation"]
    text = run_cli(["auth", "status"], tmp_path, env=ON)
    assert text.returncode == 1 and "Traceback" not in text.stderr
    shown = " ".join(run_cli(["auth", "status", "--help"], tmp_path, env=ON).stdout.split())
    assert "1 when the session file is refused" in shown  # the help names this exit
    assert "mode 0644" in text.stderr and "chmod 600" in text.stderr
    doctor = parse_one_json(run_cli(["auth", "doctor", "--json"], tmp_path, env=ON).stdout)
    checks = {c["name"]: c for c in doctor["checks"]}
    assert checks["storage_permissions"]["status"] == "fail"
    assert checks["session"]["status"] == "fail"
    cli_store.path.chmod(0o600)
    fixed = parse_one_json(run_cli(["auth", "status", "--json"], tmp_path, env=ON).stdout)
    assert fixed["logged_in"] and fixed["email"] == "ada@example.com"


def test_symlinks_and_foreign_files_are_refused(store: SessionStore, tmp_path: Path) -> None:
    with store.lock():
        store.save(sample_session())
    real = tmp_path / "elsewhere.json"
    store.path.rename(real)
    store.path.symlink_to(real)
    with pytest.raises(SessionFileError, match="symbolic link"):
        store.load()
    store.path.unlink()
    store.path.mkdir()
    with pytest.raises(SessionFileError, match="not a regular file"):
        store.load()
    store.path.rmdir()
    real.rename(store.path)
    if os.geteuid() == 0:  # only root can hand a file to another user
        os.chown(store.path, 65534, -1)
        with pytest.raises(SessionFileError, match="belongs to another user"):
            store.load()
        os.chown(store.path, 0, -1)
    assert store.load() is not None


def test_damaged_plaintext_or_foreign_sessions_are_unreadable(
        store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    session = sample_session()
    with store.lock():
        store.save(session)
    good = store.path.read_bytes()
    envelope = json.loads(good)

    def refused(content: bytes, why: str) -> None:
        store.path.write_bytes(content)
        store.path.chmod(0o600)
        with pytest.raises(SessionFileError, match=why) as caught:
            store.load()
        assert caught.value.code == "SESSION_UNREADABLE"
        assert "auth login --force" in (caught.value.hint or "")

    flipped = envelope["ciphertext"][:-2] + ("00" if envelope["ciphertext"][-2:] != "00" else "01")
    refused(json.dumps({**envelope, "ciphertext": flipped}).encode(), "does not decrypt")
    refused(json.dumps({**envelope, "nonce": "zz"}).encode(), "not hex")
    refused(b"not json", "not JSON")
    refused(b"[1, 2]", "not a JSON object")
    refused(json.dumps({"access_token": "x", "refresh_token": "y"}).encode(), "plaintext")
    refused(json.dumps({**envelope, "version": 3}).encode(), "unknown format version 3")
    store.path.write_bytes(good)
    monkeypatch.setattr(storage, "_machine_context", lambda: b"other-host:1000")
    with pytest.raises(SessionFileError, match="this machine and user"):
        store.load()
    monkeypatch.undo()
    assert store.load() == session
    store.paths.salt_file.write_bytes(b"short")
    with pytest.raises(SessionFileError, match="damaged"):
        store.load()
    store.paths.salt_file.unlink()
    with pytest.raises(SessionFileError, match="is missing"):
        store.load()


def _create_salt(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(SessionStore._create_salt(Path(path)))


def test_concurrent_first_writers_agree_on_one_salt(tmp_path: Path) -> None:
    target = tmp_path / "session.salt"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_create_salt, args=(str(target), queue))
               for _ in range(6)]
    for worker in workers:
        worker.start()
    salts = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
    assert salts == {target.read_bytes()} and len(target.read_bytes()) == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.salt"]


WRITER = """
import dataclasses, sys
sys.path.insert(0, {tests!r})
from auth_helpers import sample_session
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths
store = SessionStore(RuntimePaths(__import__("pathlib").Path({root!r})))
rounds = int(sys.argv[1])
for _ in range(rounds):
    with store.lock():
        current = store.load()
        generation = (current.generation or 0) if current else 0
        store.save(dataclasses.replace(sample_session(), generation=generation + 1))
"""


def _writer(root: Path, rounds: int) -> subprocess.Popen[bytes]:
    code = WRITER.format(tests=str(Path(__file__).parent), root=str(root))
    return subprocess.Popen([sys.executable, "-c", code, str(rounds)])


@pytest.mark.slow
def test_concurrent_locked_updates_lose_nothing(tmp_path: Path) -> None:
    writers = [_writer(tmp_path, 15) for _ in range(5)]
    assert [w.wait(timeout=300) for w in writers] == [0] * 5
    stored = SessionStore(RuntimePaths(tmp_path)).load()
    assert stored is not None and stored.generation == 75


@pytest.mark.slow
def test_kill_9_mid_write_never_leaves_a_broken_session(tmp_path: Path) -> None:
    import random

    store = SessionStore(RuntimePaths(tmp_path))
    with store.lock():
        store.save(sample_session(generation=1))
    last = 1
    for _ in range(12):
        writer = _writer(tmp_path, 100_000)
        deadline = time.monotonic() + 120
        while True:  # wait until this writer is busy writing, however slow the machine
            current = store.load()
            assert current is not None and current.generation is not None
            if current.generation > last:
                break
            assert time.monotonic() < deadline, "the writer never wrote"
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.05))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        stored = store.load()  # the old or the new bytes, never a mix
        assert stored is not None and stored.generation is not None
        assert stored.generation > last
        last = stored.generation


def test_the_format_is_the_published_clis(store: SessionStore) -> None:
    """scrypt(N=2^14, r=8, p=1) over "<hostname>:<uid>" with the 16-byte salt, AES-256-GCM
    without associated data: decrypt by the documented recipe, independently of our code."""
    import hashlib
    import socket

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with store.lock():
        store.save(sample_session())
    salt = store.paths.salt_file.read_bytes()
    key = hashlib.scrypt(f"{socket.gethostname()}:{os.getuid()}".encode(), salt=salt,
                         n=2**14, r=8, p=1, dklen=32)
    envelope = json.loads(store.path.read_bytes())
    data = json.loads(AESGCM(key).decrypt(bytes.fromhex(envelope["nonce"]),
                                          bytes.fromhex(envelope["ciphertext"]), None))
    assert data["auth_method"] == "device_code" and data["storage_backend"] == "file"
    assert data["user_id"] == 7 and data["teams"][1]["slug"] == "ada-space"
    assert data["refresh_token"] == "refresh-SECRET-1"
    del data["server_url"]  # a session the published CLI wrote has no hub URL
    nonce = os.urandom(12)
    store.path.write_text(json.dumps({"version": 2, "nonce": nonce.hex(), "ciphertext":
                                      AESGCM(key).encrypt(nonce, json.dumps(data).encode(),
                                                          None).hex()}))
    loaded = store.load()
    assert loaded is not None and loaded.server_url == "" and loaded.email == "ada@example.com"


def test_the_derived_key_is_kept_only_for_the_salt_and_machine_it_came_from(
        store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.lock():
        store.save(sample_session())
    cache = store.paths.auth_dir / "session.key"
    assert _mode(cache) == 0o600
    kept = json.loads(cache.read_text())
    assert set(kept) == {"derived_from", "key"} and len(bytes.fromhex(kept["key"])) == 32
    calls: list[bytes] = []
    real_scrypt = storage.hashlib.scrypt

    def counting(password: bytes, **kwargs: object) -> bytes:
        calls.append(password)
        return real_scrypt(password, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(storage.hashlib, "scrypt", counting)
    assert store.load() is not None and calls == []  # the kept key is used
    cache.write_text(json.dumps({**kept, "key": "00" * 32}))
    cache.chmod(0o600)
    with pytest.raises(SessionFileError):  # a wrong key is never "fixed" silently
        store.load()
    cache.unlink()
    assert store.load() is not None and len(calls) == 1 and _mode(cache) == 0o600
