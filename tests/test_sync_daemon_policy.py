"""The daemon's intent gate and policy: gate × intent × policy × SPEC_KITTY_SYNC_DISABLE.

Every case that must not start anything runs with subprocess.Popen and socket.socket
replaced by functions that fail the test, and leaves no daemon directory behind.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from auth_helpers import sample_session
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.config import UserConfigError
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import policy
from spec_kitty.sync.daemon.owner import daemon_dir
from spec_kitty.sync.daemon.policy import (
    BackgroundDaemonPolicy,
    DaemonIntent,
    DaemonStartResult,
    ensure_sync_daemon_running,
    read_policy,
)

from helpers import run_cli


def _paths(tmp_path: Path, *, logged_in: bool = True, policy_line: str | None = None
           ) -> RuntimePaths:
    paths = RuntimePaths(tmp_path / "runtime")
    if logged_in:
        SessionStore(paths).save(sample_session())
    if policy_line is not None:
        paths.root.mkdir(parents=True, exist_ok=True)
        paths.config_file.write_text(f"[sync]\n{policy_line}\n")
    return paths


def _forbid_processes_and_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a process or socket was opened by a skipped start")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


GATES = ("on", "off")
INTENTS = tuple(DaemonIntent)
POLICIES = (None, 'background_daemon = "auto"', 'background_daemon = "MANUAL"',
            'background_daemon = "sometimes"')
DISABLE = (None, "1", "0")


@pytest.mark.parametrize(("gate", "intent", "policy_line", "disable"),
                         list(itertools.product(GATES, INTENTS, POLICIES, DISABLE)))
def test_matrix(gate: str, intent: DaemonIntent, policy_line: str | None,
                disable: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _paths(tmp_path, policy_line=policy_line)
    env = {"SPEC_KITTY_HOME": str(paths.root)}
    if gate == "on":
        env["SPEC_KITTY_ENABLE_SAAS_SYNC"] = "1"
    if disable is not None:
        env["SPEC_KITTY_SYNC_DISABLE"] = disable
    manual = policy_line is not None and "MANUAL" in policy_line
    if disable == "1":
        expected = "SPEC_KITTY_SYNC_DISABLE is set"
    elif gate == "off":
        expected = "rollout_disabled"
    elif intent is DaemonIntent.LOCAL_ONLY:
        expected = "intent_local_only"
    elif manual:
        expected = "policy_manual"
    else:
        expected = None
    started: list[bool] = []

    def fake_start(_paths: RuntimePaths, *, wait: bool, warning: str | None
                   ) -> DaemonStartResult:
        started.append(wait)
        return DaemonStartResult(True, None, 4242, "started", warning)

    monkeypatch.setattr(policy, "_start", fake_start)
    _forbid_processes_and_sockets(monkeypatch)
    result = ensure_sync_daemon_running(intent, paths=paths, environ=env)
    assert result.skipped_reason == expected
    assert started == ([] if expected else [False])
    if expected:
        assert not result.started and result.pid is None and result.message
        assert not daemon_dir(paths).exists()
    else:
        assert result.started and result.pid == 4242
        assert (result.warning is not None) == ("sometimes" in (policy_line or ""))
    if expected == "policy_manual":
        assert "sync daemon start" in result.message and str(paths.config_file) in \
            result.message


def test_not_logged_in_is_skipped_without_a_process(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _paths(tmp_path, logged_in=False)
    _forbid_processes_and_sockets(monkeypatch)
    result = ensure_sync_daemon_running(DaemonIntent.REMOTE_REQUIRED, paths=paths,
                                        environ={"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"})
    assert result.skipped_reason == "not_logged_in" and result.pid is None
    assert not daemon_dir(paths).exists()


def test_explicit_start_ignores_manual_but_not_the_kill_switch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _paths(tmp_path, policy_line='background_daemon = "manual"')
    monkeypatch.setattr(policy, "_start", lambda _p, *, wait, warning: DaemonStartResult(
        True, None, 1, "started", warning))
    on = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}
    assert ensure_sync_daemon_running(DaemonIntent.REMOTE_REQUIRED, paths=paths, environ=on,
                                      explicit=True).started
    _forbid_processes_and_sockets(monkeypatch)
    result = ensure_sync_daemon_running(DaemonIntent.REMOTE_REQUIRED, paths=paths,
                                        environ={**on, "SPEC_KITTY_SYNC_DISABLE": "yes"},
                                        explicit=True)
    assert result.skipped_reason == "SPEC_KITTY_SYNC_DISABLE is set"


@pytest.mark.parametrize(("line", "expected", "warns"), [
    ('background_daemon = "auto"', BackgroundDaemonPolicy.AUTO, False),
    ('background_daemon = "Manual"', BackgroundDaemonPolicy.MANUAL, False),
    ('background_daemon = " AUTO "', BackgroundDaemonPolicy.AUTO, False),
    ('background_daemon = "never"', BackgroundDaemonPolicy.AUTO, True),
    ("background_daemon = true", BackgroundDaemonPolicy.AUTO, True),
    ('server_url = "https://hub.example.com"', BackgroundDaemonPolicy.AUTO, False),
])
def test_policy_values(line: str, expected: BackgroundDaemonPolicy, warns: bool,
                       tmp_path: Path) -> None:
    paths = _paths(tmp_path, logged_in=False, policy_line=line)
    found, warning = read_policy(paths)
    assert found is expected
    assert (warning is not None) == warns
    if warning:
        assert str(paths.config_file) in warning and "background_daemon" in warning


def test_empty_policy_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    paths = _paths(tmp_path, logged_in=False, policy_line='background_daemon = "  "')
    with pytest.raises(UserConfigError) as caught:
        read_policy(paths)
    assert str(paths.config_file) in caught.value.message
    assert caught.value.details["key"] == "sync.background_daemon"


def test_cli_reports_an_empty_policy_without_a_traceback(tmp_path: Path) -> None:
    paths = _paths(tmp_path, logged_in=False, policy_line='background_daemon = ""')
    proc = run_cli(["sync", "daemon", "status", "--json"], tmp_path,
                   env={"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_HOME": str(paths.root)})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "background_daemon" in proc.stdout + proc.stderr
    assert str(paths.config_file) in proc.stdout + proc.stderr


def test_gate_off_hides_the_daemon_commands(tmp_path: Path) -> None:
    proc = run_cli(["sync", "daemon", "start"], tmp_path,
                   env={"SPEC_KITTY_ENABLE_SAAS_SYNC": "0", "SPEC_KITTY_SYNC_DISABLE": ""})
    assert proc.returncode == 1 and "SPEC_KITTY_ENABLE_SAAS_SYNC" in proc.stdout + proc.stderr
    assert not (Path(os.environ["SPEC_KITTY_HOME"]) / "sync").exists()
