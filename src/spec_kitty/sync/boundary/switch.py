"""``auth login`` must not strand queued events: the account-switch guard.

Queues are per auth scope (hub, user, team: :mod:`spec_kitty.sync.scope`), so a login
as someone else, or to another hub, never mixes events; but the events still queued for
the old scope would wait, unsent, until that account logs in again. A login that would
change the scope while the old scope's queue has rows is therefore refused
(``ACCOUNT_SWITCH_PENDING``, exit 1, naming the count, ``sync now`` and ``--force``);
with ``--force`` it proceeds and the result names what stays behind.

The guard is handed to :func:`spec_kitty.auth.login.login` (auth sits below sync), which
calls it twice: before the flow with the hub URL only (a hub change is known up front,
so nobody logs in for nothing) and after ``/api/v1/me`` with the new session (a user or
team change), before the new session is saved. Without a session (after ``auth
logout``) the old scope is the one last used on this machine (the scope cache), so
logging out and in as someone else is guarded too.

``--force`` also means "log in again although logged in", so switching accounts while
logged in always takes ``--force``: the guard then lets it through and reports the
events left behind (``stranded``), which the CLI prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.scope import SyncScope, last_scope, scope_of

if TYPE_CHECKING:
    from spec_kitty.auth.session import Session


def pending_in(scope: SyncScope, paths: RuntimePaths) -> int:
    """Rows queued for ``scope`` (0 when its queue file does not exist; never creates it)."""
    path = scope.queue_path(paths)
    if not path.is_file():
        return 0
    from spec_kitty.sync.queue import EventQueue

    with EventQueue(path) as queue:
        return queue.depth()


class SwitchRefused(SpecKittyError):
    """Events are pending for the current scope and the login would leave it."""

    def __init__(self, old: SyncScope, pending: int, target: str) -> None:
        super().__init__(
            f"{pending} event(s) are still queued for {old.user} on {old.server_url} "
            f"(team {old.team_slug}); logging in {target} would leave them undelivered.",
            "ACCOUNT_SWITCH_PENDING",
            details={"pending": pending, "server_url": old.server_url, "user": old.user,
                     "team": old.team_slug},
            hint="Run `spec-kitty sync now` to deliver them first, or `spec-kitty auth login "
                 "--force` to switch anyway (they stay queued for that account).")


class SwitchGuard:
    """The callable :func:`spec_kitty.auth.login.login` consults (module docstring).

    After a forced switch, ``stranded`` describes the events left behind
    (``{"pending", "server_url", "user", "team"}``), else it stays None.
    """

    def __init__(self, force: bool, paths: RuntimePaths | None = None) -> None:
        self.force = force
        self.paths = paths or RuntimePaths.current()
        self.stranded: dict[str, Any] | None = None

    def __call__(self, existing: Session | None, server_url: str,
                 new: Session | None) -> None:
        old = scope_of(existing, self.paths) if existing else last_scope(self.paths)
        if old is None:
            return
        if new is None:
            if old.server_url.lower().rstrip("/") == server_url.lower().rstrip("/"):
                return
            target = f"to {server_url}"
        else:
            fresh = scope_of(new, self.paths)
            if fresh.key == old.key:
                return
            target = f"as {fresh.user} (team {fresh.team_slug}) on {fresh.server_url}"
        pending = pending_in(old, self.paths)
        if pending == 0:
            return
        if not self.force:
            raise SwitchRefused(old, pending, target)
        self.stranded = {"pending": pending, "server_url": old.server_url,
                         "user": old.user, "team": old.team_slug}

    def settle(self) -> None:
        """After a successful login: remember the new scope as the last one in use
        (best effort: the login itself has succeeded)."""
        import contextlib

        from spec_kitty.sync.scope import current_scope

        with contextlib.suppress(SpecKittyError, OSError):
            current_scope(self.paths)
