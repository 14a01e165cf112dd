"""git merge drivers for the status files, registered so they run from any install.

Two branches that both recorded status events must merge without losing either
side's events and without a conflict in ``status.json``:

- ``status.events.jsonl`` (driver ``spec-kitty-event-log``): union of both sides,
  de-duplicated by ``event_id`` (``core.status.log_merge``);
- ``status.json`` (driver ``spec-kitty-status-json``): it is derived, so it is not
  merged but regenerated from the union of both sides' logs.

git runs a driver through the shell with the user's ``PATH``, where ``spec-kitty``
is usually absent (a venv or pipx install), so drivers are registered with the
absolute path of the interpreter running spec-kitty (``<python> -m spec_kitty …``).
:func:`self_test` proves the registered commands work by running a real ``git merge``
on a tiny sample.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from spec_kitty.core.errors import SpecKittyError


@dataclass(frozen=True)
class Driver:
    name: str  # merge.<name>.* in git config
    title: str
    subcommand: str
    placeholders: str
    pattern: str  # .gitattributes pattern


DRIVERS = (
    Driver("spec-kitty-event-log", "spec-kitty event log union", "merge-driver-event-log",
           "%O %A %B", "kitty-specs/**/status.events.jsonl"),
    Driver("spec-kitty-status-json", "spec-kitty status.json (derived from the log)",
           "merge-driver-status-json", "%O %A %B %P", "kitty-specs/**/status.json"),
)
GITATTRIBUTES_LINES = tuple(f"{d.pattern} merge={d.name}" for d in DRIVERS)


def driver_command(driver: Driver, python: str | None = None) -> str:
    """The shell command git runs: this interpreter, by absolute path."""
    return f"{shlex.quote(python or sys.executable)} -m spec_kitty {driver.subcommand} " \
           f"{driver.placeholders}"


def register(root: Path) -> bool:
    """Write the drivers into the repository's ``.git/config``; returns whether it changed."""
    from spec_kitty.git import repo as git_repo

    changed = False
    for driver in DRIVERS:
        changed |= git_repo.set_config(root, f"merge.{driver.name}.name", driver.title)
        changed |= git_repo.set_config(root, f"merge.{driver.name}.driver",
                                       driver_command(driver))
    return changed


# -- the status.json driver ----------------------------------------------------------


def _todo_commit(cwd: Path, todo: Path, last: bool) -> str | None:
    """The commit named by the first (or ``last``) command of a sequencer todo list."""
    from spec_kitty.git import history

    try:
        lines = [ln.split() for ln in todo.read_text(encoding="utf-8").splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
    except OSError:
        return None
    if not lines:
        return None
    # `pick <sha> <subject>`, `fixup -C <sha> …`: the first hex word after the command.
    words = lines[-1 if last else 0][1:]
    name = next((w for w in words if len(w) >= 4 and all(c in "0123456789abcdef" for c in w)),
                None)
    return history.rev(cwd, name) if name else None


def _their_commit(cwd: Path) -> str | None:
    """The commit being merged in: ``git merge`` exports ``GITHEAD_<sha>`` to drivers.

    A rebase or a cherry-pick of several commits (the sequencer) exports nothing and
    writes its ``*_HEAD`` marker only when it stops, so the commit being replayed is
    read from the sequencer's own lists: the last line of ``rebase-merge/done``, the
    first of ``sequencer/todo``.
    """
    heads = [key[len("GITHEAD_"):] for key in os.environ if key.startswith("GITHEAD_")]
    if len(heads) == 1:
        return heads[0]
    from spec_kitty.git import commits

    try:
        git_dir = commits.git_dir(cwd)
    except SpecKittyError:
        return None
    for todo, last in ((git_dir / "rebase-merge" / "done", True),
                       (git_dir / "sequencer" / "todo", False)):
        if todo.exists():
            return _todo_commit(cwd, todo, last)
    for marker in ("CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD", "MERGE_HEAD"):
        try:
            return (git_dir / marker).read_text(encoding="utf-8").split()[0]
        except (OSError, IndexError):
            continue
    return None


def _blob(cwd: Path, rev: str, rel: str) -> bytes:
    from spec_kitty.git import runner

    proc = runner.run(["show", f"{rev}:{rel}"], cwd, check=False)
    return proc.stdout.encode("utf-8") if proc.returncode == 0 else b""


def _newest_per_wp(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Without both logs at hand: each work package's newer state (status.json is derived;
    the next spec-kitty write rematerializes it exactly)."""
    merged = dict(ours)
    states = dict(ours.get("work_packages") or {})
    for wp, state in (theirs.get("work_packages") or {}).items():
        mine = states.get(wp)
        key = (state.get("last_transition_at") or "", state.get("last_event_id") or "")
        if mine is None or key > (mine.get("last_transition_at") or "",
                                  mine.get("last_event_id") or ""):
            states[wp] = state
    summary = dict.fromkeys((ours.get("summary") or {}), 0)
    for state in states.values():
        if state.get("lane") in summary:
            summary[state["lane"]] += 1
    newer = max((ours, theirs), key=lambda s: (s.get("materialized_at") or "",
                                               s.get("last_event_id") or ""))
    merged.update(work_packages={wp: states[wp] for wp in sorted(states)}, summary=summary,
                  materialized_at=newer.get("materialized_at"),
                  last_event_id=newer.get("last_event_id"),
                  event_count=max(ours.get("event_count") or 0, theirs.get("event_count") or 0))
    return merged


def merged_snapshot(ours: bytes, theirs: bytes, pathname: str, cwd: Path) -> bytes:
    """The merged ``status.json``: the reduced union of both sides' logs.

    Raises ``LogMergeError`` when the two logs disagree about an event (a real conflict).
    """
    from spec_kitty.core.status.events import parse_log
    from spec_kitty.core.status.log_merge import merge_logs
    from spec_kitty.core.status.reducer import reduce_log
    from spec_kitty.repo.status.event_log import snapshot_bytes

    def load(data: bytes) -> dict[str, Any]:
        try:
            value = json.loads(data or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    mine, other = load(ours), load(theirs)
    rel = str(PurePosixPath(pathname).parent / "status.events.jsonl")
    commit = _their_commit(cwd)
    if commit is None:
        sys.stderr.write(f"spec-kitty: {pathname} merged per work package; run `spec-kitty "
                         "agent status materialize` to rebuild it from the merged log.\n")
        return snapshot_bytes(_newest_per_wp(mine, other))
    union = merge_logs(b"", _blob(cwd, "HEAD", rel), _blob(cwd, commit, rel))
    snapshot = reduce_log(parse_log(union), mission_slug=str(mine.get("mission_slug") or
                                                             PurePosixPath(pathname).parent.name),
                          mission_number=mine.get("mission_number") or None,
                          mission_type=mine.get("mission_type"))
    return snapshot_bytes(snapshot)


# -- verify-setup's self test --------------------------------------------------------

_SAMPLE_ROW = {"evidence": None, "execution_mode": "worktree", "force": False,
               "mission_slug": "selftest", "policy_metadata": None, "reason": None,
               "review_ref": None}


def _row(event_id: str, at: str, wp: str, frm: str, to: str) -> str:
    row = {**_SAMPLE_ROW, "actor": "selftest", "at": at, "event_id": event_id,
           "from_lane": frm, "to_lane": to, "wp_id": wp}
    return json.dumps(row, sort_keys=True) + "\n"


def self_test(root: Path) -> tuple[bool, str]:
    """Run the drivers registered in ``root`` on a real 3-way ``git merge`` sample.

    Returns (ok, detail). The sample repository lives in a temporary directory; the
    user's hooks and signing settings are switched off for it.
    """
    from spec_kitty.git import repo as git_repo
    from spec_kitty.git import runner

    commands = {d.name: git_repo.get_config(root, f"merge.{d.name}.driver") for d in DRIVERS}
    missing = [name for name, cmd in commands.items() if not cmd]
    if missing:
        return False, f"not registered: {', '.join(missing)}; run `spec-kitty init`"
    log, status = "kitty-specs/selftest/status.events.jsonl", "kitty-specs/selftest/status.json"
    base = _row("01SELFTEST0000000000000001", "2026-01-01T00:00:01.000000+00:00", "WP01",
                "genesis", "planned")
    ours = base + _row("01SELFTEST0000000000000002", "2026-01-01T00:00:02.000000+00:00",
                       "WP01", "planned", "claimed")
    theirs = base + _row("01SELFTEST0000000000000003", "2026-01-01T00:00:03.000000+00:00",
                         "WP02", "genesis", "planned")
    settings = ["-c", "user.name=spec-kitty", "-c", "user.email=selftest@spec-kitty.invalid",
                "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    with tempfile.TemporaryDirectory(prefix="spec-kitty-driver-") as tmp:
        repo = Path(tmp)
        (repo / "kitty-specs" / "selftest").mkdir(parents=True)

        def git(*args: str) -> Any:
            return runner.run([*settings, *args], repo, check=False)

        def commit(log_text: str, message: str) -> None:
            (repo / log).write_text(log_text)
            (repo / status).write_text(json.dumps({"sample": message}) + "\n")
            git("add", "-A")
            git("commit", "-q", "-m", message)

        git("init", "-q", "-b", "main")
        for driver in DRIVERS:
            git("config", f"merge.{driver.name}.driver", str(commands[driver.name]))
        (repo / ".gitattributes").write_text("\n".join(GITATTRIBUTES_LINES) + "\n")
        commit(base, "base")
        git("checkout", "-q", "-b", "theirs")
        commit(theirs, "theirs")
        git("checkout", "-q", "main")
        commit(ours, "ours")
        proc = git("merge", "-q", "--no-edit", "theirs")
        if proc.returncode != 0:
            detail = (proc.stderr + proc.stdout).strip().splitlines()
            return False, "a sample merge failed: " + " | ".join(detail[-4:])
        merged = (repo / log).read_text().splitlines()
        snapshot = json.loads((repo / status).read_text())
    if len(merged) != 3 or set(snapshot.get("work_packages") or {}) != {"WP01", "WP02"}:
        return False, "the drivers ran but did not keep both sides' events"
    return True, "event-log and status.json drivers merged a 3-way sample"
