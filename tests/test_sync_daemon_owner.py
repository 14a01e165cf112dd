"""The daemon owner record: atomic 0600 write, strict read, both identity markers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import owner


def _record() -> owner.OwnerRecord:
    return owner.new_record(port=9400, server_url="http://127.0.0.1:1", user="a@x.test",
                            team_slug="t", auth_scope="k", queue_path="/q.db")


def test_write_read_round_trip_private(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    record = _record()
    target = owner.write(paths, record)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert owner.read(paths) == record
    assert record.pid == os.getpid() and owner.is_alive(record)
    assert "token" not in target.read_text()


def test_read_names_file_and_field(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    assert owner.read(paths) is None
    owner.write(paths, _record())
    data = json.loads(owner.owner_file(paths).read_text())
    data["port"] = "9400"
    owner.owner_file(paths).write_text(json.dumps(data))
    with pytest.raises(owner.OwnerRecordError, match="'port'") as caught:
        owner.read(paths)
    assert str(owner.owner_file(paths)) in str(caught.value)
    owner.owner_file(paths).write_text("{")
    with pytest.raises(owner.OwnerRecordError, match="not JSON"):
        owner.read(paths)


def test_dead_pid_and_reused_pid_are_orphans(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = replace(_record(), pid=child.pid)
    assert owner.is_orphan(dead)
    # Same PID as a live process but another start time: the PID was reused.
    reused = replace(_record(), process_start=(_record().process_start or 0) + 1)
    assert owner.is_orphan(reused)
    owner.write(paths, dead)
    assert not owner.remove_if_owner(paths)  # not ours
    assert owner.remove_orphan(paths) == dead
    assert owner.read(paths) is None


def test_live_record_is_kept(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    owner.write(paths, _record())
    assert owner.remove_orphan(paths) is None
    assert owner.remove_if_owner(paths)
    assert not owner.owner_file(paths).exists()
