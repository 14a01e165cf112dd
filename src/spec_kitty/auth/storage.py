"""The session on disk: ``<runtime>/auth/session.json``, encrypted, private, atomic.

The format is the published Spec Kitty CLI's (sync-subsystem reference §3.2, checked by
decrypting a file it wrote), so both CLIs share one login on a machine:

- ``session.json``: ``{"version": 2, "nonce": "<hex>", "ciphertext": "<hex>"}``, the
  ciphertext being the session JSON (:meth:`Session.to_json`) sealed with AES-256-GCM
  (``cryptography``) under a random 96-bit nonce, no associated data;
- the key: scrypt (N=2^14, r=8, p=1, 32 bytes) of ``"<hostname>:<uid>"`` salted with the
  16 random bytes of ``session.salt``, so the file is useless on another machine or for
  another user.

Deriving that key costs ~65 ms, on every command that reads the session. Since the
hostname and uid are public, the key is exactly as secret as the salt file it comes
from; we therefore keep it, with a digest of what it was derived from, in
``session.key`` (0600) next to the salt, and derive again only when that digest no
longer matches (new salt, other host or user). This changes nothing an attacker can do
and keeps ``auth status`` inside its budget. What protects the session is that only its
owner can read these files: the directory is 0700, the files 0600, and a file with any
group or other permission bit (or owned by someone else, or a symlink) is refused rather
than read.

All writes go through :mod:`spec_kitty.repo.atomic` (temp file, fsync, rename) while the
caller holds :meth:`SessionStore.lock`, the machine-wide ``auth/refresh.lock``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spec_kitty.auth.errors import SessionFileError
from spec_kitty.auth.session import FORMAT_VERSION, Session
from spec_kitty.hosted.runtime import (
    PRIVATE_FILE_MODE,
    RuntimePaths,
    ensure_private_dir,
    loose_permission_bits,
)

SALT_BYTES = 16
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
NONCE_BYTES = 12
LOCK_TIMEOUT_SECONDS = 10.0
RELOGIN = "spec-kitty auth login --force"


def _machine_context() -> bytes:
    """``"<hostname>:<uid>"`` (``os.uname`` is ``gethostname`` without importing socket)."""
    if hasattr(os, "uname"):
        host, uid = os.uname().nodename, str(os.getuid())
    else:  # pragma: no cover - Windows
        import socket

        host, uid = socket.gethostname(), os.environ.get("USERNAME", "user")
    return f"{host}:{uid}".encode()


def _key_digest(salt: bytes, context: bytes) -> str:
    return hashlib.sha256(b"spec-kitty-session-key\0" + salt + b"\0" + context).hexdigest()


def _read_private(path: Path, *, check_mode: bool = True) -> bytes:
    """Read ``path`` only if it is a regular file owned by us with no group/other bits.

    The checks run on the opened descriptor, so the file cannot be swapped in between.
    Raises FileNotFoundError when absent and :class:`SessionFileError` when refused.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SessionFileError(f"{path} is a symbolic link; refusing to read it.",
                                   "SESSION_FILE_INSECURE",
                                   hint=f"Remove it and run `{RELOGIN}`.",
                                   details={"file": str(path)}) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SessionFileError(f"{path} is not a regular file.", "SESSION_FILE_INSECURE",
                                   hint=f"Remove it and run `{RELOGIN}`.",
                                   details={"file": str(path)})
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            raise SessionFileError(
                f"{path} belongs to another user (uid {info.st_uid}); refusing to read it.",
                "SESSION_FILE_INSECURE", hint=f"Remove it and run `{RELOGIN}`.",
                details={"file": str(path)})
        loose = loose_permission_bits(info.st_mode)
        if loose and check_mode:
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            raise SessionFileError(
                f"{path} has mode {mode}: other users may be able to read your session, so "
                "it is refused.", "SESSION_FILE_INSECURE",
                hint=f"Run `chmod 600 {path}` (and `chmod 700 {path.parent}`) if only you "
                     "could have read it; otherwise `spec-kitty auth logout` (it revokes the "
                     "session on the hub) and log in again.",
                details={"file": str(path), "mode": mode})
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class SessionStore:
    """Load, save and delete the session of one runtime root."""

    def __init__(self, paths: RuntimePaths | None = None) -> None:
        self.paths = paths or RuntimePaths.current()

    @property
    def path(self) -> Path:
        return self.paths.session_file

    def exists(self) -> bool:
        return self.path.is_file()

    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
        """The machine-wide session lock (``auth/refresh.lock``); creates ``auth/`` (0700)."""
        from filelock import FileLock, Timeout

        ensure_private_dir(self.paths.auth_dir)
        try:
            with FileLock(str(self.paths.refresh_lock), timeout=timeout,
                          mode=PRIVATE_FILE_MODE):
                yield
        except Timeout:
            raise SessionFileError(
                f"Another spec-kitty process has held {self.paths.refresh_lock} for more than "
                f"{timeout:g} s.", "SESSION_LOCK_TIMEOUT",
                hint="Retry; if it persists, stop the other spec-kitty process.") from None

    def load(self, *, for_revocation: bool = False) -> Session | None:
        """The stored session, or ``None`` when there is none.

        Raises :class:`SessionFileError` with code ``SESSION_FILE_INSECURE`` (permissions,
        owner, symlink) or ``SESSION_UNREADABLE`` (damaged, plaintext, other machine).
        ``for_revocation`` (logout only) reads a file others could read, so that a
        session that may have leaked can still be revoked on the hub.
        """
        try:
            raw = _read_private(self.path, check_mode=not for_revocation)
        except FileNotFoundError:
            return None
        envelope = self._parse_envelope(raw)
        plaintext = self._decrypt(envelope, check_mode=not for_revocation)
        try:
            return Session.from_json(json.loads(plaintext))
        except ValueError as exc:  # JSONDecodeError included
            raise self._unreadable(f"its content is invalid ({exc})") from None

    def save(self, session: Session) -> None:
        """Encrypt and write atomically with mode 0600. Hold :meth:`lock` around it."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from spec_kitty.repo.atomic import write_bytes_atomic

        ensure_private_dir(self.paths.auth_dir)
        nonce = os.urandom(NONCE_BYTES)
        plaintext = json.dumps(session.to_json(), sort_keys=True).encode()
        salt = self._existing_salt() or self._checked(self._create_salt(self.paths.salt_file))
        sealed = AESGCM(self._key(salt)).encrypt(nonce, plaintext, None)
        envelope = {"version": FORMAT_VERSION, "nonce": nonce.hex(), "ciphertext": sealed.hex()}
        write_bytes_atomic(self.path, json.dumps(envelope).encode() + b"\n",
                           mode=PRIVATE_FILE_MODE)

    def delete(self) -> bool:
        """Remove the session file (the salt stays); returns whether there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    # -- internals ------------------------------------------------------------------

    def _unreadable(self, why: str) -> SessionFileError:
        return SessionFileError(f"{self.path} cannot be used: {why}.", "SESSION_UNREADABLE",
                                hint=f"Run `{RELOGIN}` to replace it.",
                                details={"file": str(self.path)})

    def _parse_envelope(self, raw: bytes) -> dict[str, Any]:
        try:
            envelope = json.loads(raw)
        except ValueError:
            raise self._unreadable("it is not JSON") from None
        if not isinstance(envelope, dict):
            raise self._unreadable("it is not a JSON object")
        if "ciphertext" not in envelope and ("access_token" in envelope
                                             or envelope.get("version") == 1):
            raise self._unreadable("it holds tokens in plaintext (an old format), which is "
                                   "no longer accepted")
        if envelope.get("version") != FORMAT_VERSION:
            raise self._unreadable(f"unknown format version {envelope.get('version')!r}")
        return envelope

    def _decrypt(self, envelope: dict[str, Any], *, check_mode: bool = True) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            nonce = bytes.fromhex(str(envelope.get("nonce")))
            sealed = bytes.fromhex(str(envelope.get("ciphertext")))
        except ValueError:
            raise self._unreadable("nonce or ciphertext is not hex") from None
        salt = self._existing_salt(check_mode=check_mode)
        if salt is None:
            raise self._unreadable(f"its key material {self.paths.salt_file} is missing")
        try:
            return AESGCM(self._key(salt, check_mode=check_mode)).decrypt(nonce, sealed, None)
        except (InvalidTag, ValueError):
            raise self._unreadable("it does not decrypt for this machine and user (host name "
                                   "or user changed, or the file is damaged)") from None

    def _key(self, salt: bytes, *, check_mode: bool = True) -> bytes:
        """The AES key for ``salt`` on this machine and user (see the module docstring).

        A cached key that others could read is refused like the salt it stands for
        (SessionFileError), not quietly replaced: the exposure is the user's to know.
        """
        from spec_kitty.repo.atomic import write_bytes_atomic

        context = _machine_context()
        digest = _key_digest(salt, context)
        cache = self.paths.auth_dir / "session.key"
        try:
            cached = json.loads(_read_private(cache, check_mode=check_mode))
            if isinstance(cached, dict) and cached.get("derived_from") == digest:
                key = bytes.fromhex(str(cached.get("key")))
                if len(key) == 32:
                    return key
        except (FileNotFoundError, ValueError):
            pass  # absent or stale: derive again (and replace it below)
        key = hashlib.scrypt(context, salt=salt, **SCRYPT)
        # A read-only runtime directory only costs the derivation next time.
        with contextlib.suppress(OSError):
            write_bytes_atomic(cache, json.dumps({"derived_from": digest,
                                                  "key": key.hex()}).encode(),
                               mode=PRIVATE_FILE_MODE)
        return key

    def _existing_salt(self, *, check_mode: bool = True) -> bytes | None:
        try:
            return self._checked(_read_private(self.paths.salt_file, check_mode=check_mode))
        except FileNotFoundError:
            return None

    def _checked(self, salt: bytes) -> bytes:
        if len(salt) != SALT_BYTES:
            raise self._unreadable(f"its key material {self.paths.salt_file} is damaged")
        return salt

    @staticmethod
    def _create_salt(path: Path) -> bytes:
        """Publish a new salt with a hard link, so concurrent creators agree on one."""
        from spec_kitty.repo.atomic import temp_path_for

        candidate = os.urandom(SALT_BYTES)
        tmp = temp_path_for(path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        try:
            os.write(fd, candidate)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            candidate = _read_private(path)
        finally:
            os.unlink(tmp)
        return candidate
