"""Version drift between two real installs of spec-kitty on one machine.

The "older install" is a copy of the ``spec_kitty`` package with ``__version__`` set to
0.0.1, imported through ``PYTHONPATH`` by the same interpreter, so its daemon really runs
the other copy (its own source checkout). A newer CLI retires an older daemon (confirmed
exit) and starts its own; an older CLI never replaces a newer daemon, it reuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon_helpers import daemon_pids, old_install, record, wait_for
from spec_kitty import __version__
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import client
from spec_kitty.sync.daemon.owner import process_gone, source_checkout
from test_sync_daemon_process import runtime, sk  # noqa: F401 - the fixture

from helpers import parse_one_json, run_cli

OLD = "0.0.1"


@pytest.fixture
def old_env(tmp_path: Path) -> dict[str, str]:
    return old_install(tmp_path / "old-install", OLD)


def test_the_old_copy_is_a_real_second_install(old_env: dict[str, str]) -> None:
    proc = run_cli(["--version"], Path(old_env["PYTHONPATH"]), env=old_env)
    assert proc.returncode == 0 and OLD in proc.stdout, proc.stdout + proc.stderr
    assert __version__ != OLD


def test_a_newer_cli_retires_the_older_installs_daemon(
        runtime: Path, tmp_path: Path, old_env: dict[str, str]) -> None:  # noqa: F811
    old = sk(tmp_path, "start", env=old_env)
    old_record = record(runtime)
    assert old_record is not None and old_record.pid == old["pid"]
    assert old_record.package_version == OLD
    assert old_record.source_checkout == str(Path(old_env["PYTHONPATH"]) / "spec_kitty")
    assert client.health(old_record.port)["package_version"] == OLD
    plain = run_cli(["sync", "status"], tmp_path).stdout  # the owner record only
    assert f"running (pid {old['pid']}, 127.0.0.1:{old_record.port}, version {OLD})" in plain
    assert ("Boundary:     differs in package_version, source_checkout; run `spec-kitty "
            "sync status --check`") in plain
    summary = parse_one_json(run_cli(["sync", "status", "--json"], tmp_path).stdout)
    assert summary["daemon"] == {"state": "running", "pid": old["pid"],
                                 "port": old_record.port, "package_version": OLD,
                                 "coherent": False,
                                 "differs": ["package_version", "source_checkout"]}
    new = sk(tmp_path, "start")  # the real (newer) CLI
    assert new["started"] and new["pid"] != old["pid"]
    assert process_gone(old["pid"], old_record.process_start)  # exit confirmed first
    fresh = record(runtime)
    assert fresh is not None and fresh.pid == new["pid"]
    assert fresh.package_version == __version__
    assert fresh.source_checkout == source_checkout()
    assert client.health(fresh.port)["package_version"] == __version__
    assert daemon_pids(runtime) == [new["pid"]]
    plain = run_cli(["sync", "status"], tmp_path).stdout
    assert f"(pid {new['pid']}, 127.0.0.1:{fresh.port}, version {__version__})" in plain
    assert "Boundary:     coherent" in plain
    sk(tmp_path, "stop")
    plain = run_cli(["sync", "status"], tmp_path).stdout
    assert "Daemon:       not running" in plain and "Boundary:     coherent" in plain


def test_a_status_write_from_the_newer_cli_replaces_it_without_waiting(
        runtime: Path, tmp_path: Path, old_env: dict[str, str]) -> None:  # noqa: F811
    from spec_kitty.sync.daemon.policy import on_events_queued

    old = sk(tmp_path, "start", env=old_env)
    old_record = record(runtime)
    assert old_record is not None and old_record.package_version == OLD
    on_events_queued(RuntimePaths(runtime))
    new = wait_for(lambda: (lambda r: r if r and r.pid != old["pid"] else None)(
        record(runtime)), "the successor's owner record")
    assert new.package_version == __version__ and new.source_checkout == source_checkout()
    assert process_gone(old["pid"], old_record.process_start)
    wait_for(lambda: daemon_pids(runtime) == [new.pid], "exactly one daemon")


def test_an_older_cli_reuses_a_newer_daemon(
        runtime: Path, tmp_path: Path, old_env: dict[str, str]) -> None:  # noqa: F811
    import subprocess
    import sys

    new = sk(tmp_path, "start")
    again = sk(tmp_path, "start", env=old_env)
    assert not again["started"] and again["pid"] == new["pid"]
    # the older install's status-write hook nudges the newer daemon, never replaces it
    port = record(runtime).port  # type: ignore[union-attr]
    before = client.health(port)["triggers"]
    script = ("import sys; from pathlib import Path; import spec_kitty; "
              f"assert spec_kitty.__version__ == {OLD!r}, spec_kitty.__version__; "
              "from spec_kitty.hosted.runtime import RuntimePaths; "
              "from spec_kitty.sync.daemon.policy import on_events_queued; "
              "on_events_queued(RuntimePaths(Path(sys.argv[1])))")
    import os

    proc = subprocess.run([sys.executable, "-c", script, str(runtime)],
                          env={**os.environ, **old_env}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    wait_for(lambda: client.health(port)["triggers"] == before + 1, "the nudge")
    current = record(runtime)
    assert current is not None and current.pid == new["pid"]
    assert current.package_version == __version__
    assert daemon_pids(runtime) == [new["pid"]]
