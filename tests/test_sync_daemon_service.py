"""The daemon in-process: retirement rules (owner record, newer install, login change),
version order, backoff schedule, the rotated and masked log."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from auth_helpers import sample_session
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.config import set_setting
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon import owner, settings
from spec_kitty.sync.daemon.service import SyncService, installed_version
from spec_kitty.sync.scope import current_scope


def _service(tmp_path: Path) -> tuple[RuntimePaths, SyncService, owner.OwnerRecord]:
    paths = RuntimePaths(tmp_path / "runtime")
    SessionStore(paths).save(sample_session())
    scope = current_scope(paths)
    assert scope is not None
    record = owner.new_record(port=9400, server_url=scope.server_url, user=scope.user,
                              team_slug=scope.team_slug, auth_scope=scope.key,
                              queue_path=str(scope.queue_path(paths)))
    owner.write(paths, record)
    return paths, SyncService(paths, scope.key, interval=300, idle_timeout=900), record


def test_the_owner_keeps_running(tmp_path: Path) -> None:
    _, service, _ = _service(tmp_path)
    assert service._superseded() is None


def test_a_newer_install_supersedes(tmp_path: Path) -> None:
    paths, service, record = _service(tmp_path)
    checkout = tmp_path / "site" / "spec_kitty"
    checkout.mkdir(parents=True)
    (checkout / "__init__.py").write_text('"""x"""\n\n__version__ = "99.1.0"\n')
    assert installed_version(str(checkout)) == "99.1.0"
    owner.write(paths, replace(record, source_checkout=str(checkout)))
    assert service._superseded() == "superseded: spec-kitty 99.1.0 was installed"
    (checkout / "__init__.py").write_text('__version__ = "0.0.1"\n')  # older: stays
    assert service._superseded() is None


def test_another_owner_a_logout_or_another_team_supersede(tmp_path: Path) -> None:
    paths, service, record = _service(tmp_path)
    owner.write(paths, replace(record, pid=record.pid + 1))
    assert "no longer names this process" in (service._superseded() or "")
    owner.write(paths, record)
    set_setting("sync", "team", "acme", paths)  # another team: another queue
    assert service._superseded() == "the login changed to another account, team or hub"
    set_setting("sync", "team", None, paths)
    assert service._superseded() is None
    paths.session_file.unlink()
    assert service._superseded() == "logged out"


def test_health_has_no_secret(tmp_path: Path) -> None:
    _, service, _ = _service(tmp_path)
    text = repr(service.health())
    assert "SECRET" not in text and service.health()["queue_depth"] == 0


def test_version_order() -> None:
    assert settings.is_older("0.1.0", "0.10.0") and not settings.is_older("1.2", "1.2.0rc1")
    assert settings.is_older("garbage", "0.0.1") and not settings.is_older("0.2.0", "0.1.9")


def test_backoff_doubles_from_half_a_second_to_thirty() -> None:
    delays = [settings.backoff_delay(n) for n in range(1, 10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_the_log_rotates_follows_with_stdio_and_masks_tokens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spec_kitty.sync.daemon import logs

    moved: list[int] = []
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    monkeypatch.setattr(logs.os, "dup2", lambda _fd, target: moved.append(target))
    paths = RuntimePaths(tmp_path / "runtime")
    owner.daemon_dir(paths).mkdir(parents=True)
    secrets = ["c0ffee" * 8]
    log = logs.setup(paths, secrets)
    try:
        for n in range(100):
            log.info("line %d token=%s header=Bearer abc.def-%d", n, secrets[0], n)
    finally:
        for handler in log.handlers:
            handler.close()
        log.handlers.clear()
    files = sorted(p.name for p in owner.daemon_dir(paths).iterdir())
    assert files == ["daemon.log", "daemon.log.1", "daemon.log.2", "daemon.log.3"]
    assert moved[:2] == [1, 2]  # stdout and stderr follow the fresh file
    text = "".join((owner.daemon_dir(paths) / name).read_text() for name in files)
    assert "line 99" in text and secrets[0] not in text and "abc.def" not in text
    assert "token=[redacted]" in text and "Bearer [redacted]" in text
