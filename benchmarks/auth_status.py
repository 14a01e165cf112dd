"""`spec-kitty auth status`: whole-process time with a stored (encrypted) session.

Budget: <= 0.2 s median (issue 11). Also shown: the logged-out answer, and the readiness
evaluator's local checks in-process (budget 200 ms; the reachability probe is opt-in and
not measured here). No hub is needed: the session is written directly with the store.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import CLI, report, time_command


def _store_session(root: Path) -> None:
    from spec_kitty.auth.session import DEVICE, Identity, Session, TokenGrant, utc_now
    from spec_kitty.auth.storage import SessionStore
    from spec_kitty.hosted.runtime import RuntimePaths

    now = utc_now()
    identity = Identity.from_json({
        "user_id": 1, "email": "bench@example.com", "name": "Bench",
        "teams": [{"id": f"team-{n}", "name": f"Team {n}", "role": "member",
                   "is_private_teamspace": n == 0} for n in range(5)]})
    grant = TokenGrant.from_json({"access_token": "a" * 43, "refresh_token": "r" * 43,
                                  "expires_in": 900, "session_id": "bench-session",
                                  "refresh_token_expires_in": 30 * 86400}, now)
    store = SessionStore(RuntimePaths(root))
    with store.lock():
        store.save(Session.create("http://127.0.0.1:8765", grant, identity, DEVICE, now))


def main() -> int:
    from spec_kitty.hosted.readiness import evaluate_readiness
    from spec_kitty.hosted.runtime import RuntimePaths

    print("== auth status")
    with tempfile.TemporaryDirectory(prefix="sk-bench-auth-") as tmp:
        root = Path(tmp) / "runtime"
        env = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_HOME": str(root),
               "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:8765"}
        report("auth --help (the group's start-up floor)",
               time_command([CLI, "auth", "--help"], env=env))
        report("auth status (logged out)", time_command([CLI, "auth", "status"], env=env))
        _store_session(root)
        ok = report("auth status (logged in)", time_command([CLI, "auth", "status"], env=env),
                    budget=0.2)
        report("auth status --json (logged in)",
               time_command([CLI, "auth", "status", "--json"], env=env))
        paths = RuntimePaths(root)
        samples = []
        for _ in range(200):
            start = time.perf_counter()
            result = evaluate_readiness(environ=env, paths=paths)
            samples.append(time.perf_counter() - start)
        assert result.ready, result
        median = statistics.median(samples)
        print(f"{'readiness, local checks (in-process)':48} median {median * 1000:.3f}ms  "
              f"max {max(samples) * 1000:.3f}ms  budget 200ms  "
              f"{'OK' if max(samples) <= 0.2 else 'OVER BUDGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
