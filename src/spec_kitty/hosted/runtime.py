"""The per-user runtime root of the hosted features and the files kept in it.

``<runtime>`` is ``$SPEC_KITTY_HOME`` when set (trimmed, ``~`` expanded), otherwise
``~/.spec-kitty`` on POSIX and ``%LOCALAPPDATA%\\spec-kitty`` on Windows (reference
§ intro). Nothing here creates anything: paths are computed, and only code that writes
(login, refresh, config writes) calls :func:`ensure_private_dir`, so a machine with the
gate off never sees the directory appear.

Layout:

===============================  ===============================================
``config.toml``                  user settings, ``[sync] server_url`` and friends
``auth/``                        0700
``auth/session.json``            the encrypted session, 0600
``auth/session.salt``            per-installation key material, 0600
``auth/refresh.lock``            machine-wide lock for every session write
``clock.json``, ``.lock``        the machine's Lamport clock (:mod:`spec_kitty.sync.clock`)
``queues/``                      sync queues per auth scope (:mod:`spec_kitty.sync.scope`)
``sync/daemon/``                 the background sync daemon (0700,
                                 :mod:`spec_kitty.sync.daemon`)
``sync/daemon/owner.json``       who the running daemon is, 0600, written before it
                                 serves, removed by it at exit
``sync/daemon/control.token``    the running daemon's API token, 0600
``sync/daemon/daemon.lock``      held exclusively by the running daemon (one per user)
``sync/daemon/spawn.lock``       serialises foreground processes starting one
``sync/daemon/daemon.log``       its log (and stdout/stderr), rotated at 1 MiB, 3 kept
===============================  ===============================================
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "SPEC_KITTY_HOME"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def runtime_root(environ: Mapping[str, str] | None = None) -> Path:
    """The runtime root for this user (see module docstring); never created here."""
    env = os.environ if environ is None else environ
    override = env.get(HOME_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        local = env.get("LOCALAPPDATA", "").strip()
        if local:
            return Path(local) / "spec-kitty"
    return Path.home() / ".spec-kitty"


@dataclass(frozen=True)
class RuntimePaths:
    """Every file of the runtime root, computed from one ``root``."""

    root: Path

    @classmethod
    def current(cls, environ: Mapping[str, str] | None = None) -> RuntimePaths:
        return cls(runtime_root(environ))

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def auth_dir(self) -> Path:
        return self.root / "auth"

    @property
    def session_file(self) -> Path:
        return self.auth_dir / "session.json"

    @property
    def salt_file(self) -> Path:
        return self.auth_dir / "session.salt"

    @property
    def refresh_lock(self) -> Path:
        return self.auth_dir / "refresh.lock"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by this user only; tighten it if it exists.

    Parents we create get 0700 too; an existing parent (e.g. ``$HOME``) is left alone.
    """
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def loose_permission_bits(mode: int) -> int:
    """The group/other permission bits of ``mode`` (0 when private)."""
    return stat.S_IMODE(mode) & 0o077
