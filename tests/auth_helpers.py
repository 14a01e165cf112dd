"""Sessions for auth tests: build one without a hub, or rewrite the stored one."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from spec_kitty.auth.session import DEVICE, Identity, Session, TokenGrant, utc_now
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths

IDENTITY = {"user_id": 7, "email": "ada@example.com", "name": "Ada",
            "teams": [{"id": "acme", "name": "Acme", "role": "member",
                       "is_private_teamspace": False},
                      {"id": "ada-space", "name": "Ada's teamspace", "role": "owner",
                       "is_private_teamspace": True}]}


def sample_session(server_url: str = "http://127.0.0.1:9", **changes: Any) -> Session:
    now = utc_now()
    grant = TokenGrant.from_json({"access_token": "access-SECRET-1",
                                  "refresh_token": "refresh-SECRET-1", "expires_in": 900,
                                  "session_id": "sess-1", "refresh_token_expires_in": 86400},
                                 now)
    session = Session.create(server_url, grant, Identity.from_json(IDENTITY), DEVICE, now)
    return dataclasses.replace(session, **changes) if changes else session


def current_store() -> SessionStore:
    """The store the CLI subprocesses of this test use ($SPEC_KITTY_HOME)."""
    return SessionStore(RuntimePaths(Path(os.environ["SPEC_KITTY_HOME"])))


def rewrite_session(store: SessionStore, **changes: Any) -> Session:
    """Load, change fields (e.g. expire the access token), save under the lock."""
    with store.lock():
        session = store.load()
        assert session is not None, "no stored session"
        session = dataclasses.replace(session, **changes)
        store.save(session)
    return session


def expired() -> Any:
    return utc_now() - timedelta(seconds=60)
