"""All-or-nothing file groups: a failure midway restores every earlier write."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec_kitty.repo import transaction
from spec_kitty.repo.transaction import FileTransaction


def test_failure_midway_rolls_back_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tmp_path / "existing.txt"
    existing.write_text("original")
    real_write = transaction.write_bytes_atomic
    calls = {"n": 0}

    def flaky(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(transaction, "write_bytes_atomic", flaky)
    with pytest.raises(OSError), FileTransaction() as tx:
        tx.write(existing, "changed")
        tx.write(tmp_path / "new" / "deep" / "file.txt", "new")
        tx.write(tmp_path / "third.txt", "never")
    monkeypatch.setattr(transaction, "write_bytes_atomic", real_write)
    assert existing.read_text() == "original"
    assert not (tmp_path / "new").exists()
    assert not (tmp_path / "third.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.txt"]


def test_success_keeps_all_writes(tmp_path: Path) -> None:
    with FileTransaction() as tx:
        tx.write(tmp_path / "a" / "b.txt", "b")
        tx.write(tmp_path / "c.txt", b"c")
    assert (tmp_path / "a" / "b.txt").read_text() == "b"
    assert (tmp_path / "c.txt").read_text() == "c"
