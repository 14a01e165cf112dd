"""The session model's validation and the refresh manager's decisions, without a hub.

The hub cases (rotation, replay, revocation, races) run against the real hub in
test_auth_hub.py; here a scripted stand-in for our own OAuth client covers the answers
our hub never gives (the reference's 409 benign-replay retry) and the bookkeeping.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from auth_helpers import IDENTITY, sample_session
from spec_kitty.auth.errors import HubError, NotLoggedIn, ReauthRequired
from spec_kitty.auth.oauth import OAuthError
from spec_kitty.auth.refresh import TokenManager
from spec_kitty.auth.session import Identity, Session, TokenGrant, utc_now
from spec_kitty.auth.storage import SessionStore
from spec_kitty.hosted.runtime import RuntimePaths

GRANT = {"access_token": "a2", "refresh_token": "r2", "expires_in": 900, "session_id": "s"}


@pytest.mark.parametrize(("change", "problem"), [
    ({"user_id": None}, "user_id"), ({"user_id": True}, "user_id"), ({"email": ""}, "email"),
    ({"teams": {}}, "teams must be a list"), ({"teams": ["x"]}, "each team"),
    ({"teams": [{"id": "t", "is_private_teamspace": "yes"}]}, "true or false"),
    ({"teams": [{"name": "no id"}]}, "id must be"),
])
def test_identity_answers_are_validated(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(HubError, match=problem) as caught:
        Identity.from_json({**IDENTITY, **change})
    assert caught.value.code == "HUB_BAD_RESPONSE"
    with pytest.raises(HubError, match="expected a JSON object"):
        Identity.from_json([IDENTITY])


def test_identity_defaults_and_no_teams() -> None:
    identity = Identity.from_json({**IDENTITY, "teams": [
        {"id": 5, "role": "member"}, {"id": "b", "name": "B"}]})
    assert identity.default_team.id == "5"  # no private teamspace: the first team
    assert identity.teams[0].name == "5" and identity.teams[1].role == ""
    with pytest.raises(HubError) as caught:
        Identity.from_json({**IDENTITY, "teams": []})
    assert caught.value.code == "NO_TEAMS" and "ada@example.com" in caught.value.message


@pytest.mark.parametrize(("change", "problem"), [
    ({"expires_in": "900"}, "expires_in"), ({"expires_in": True}, "expires_in"),
    ({"access_token": ""}, "access_token"), ({"session_id": None}, "session_id"),
    ({"refresh_token_expires_at": 5}, "ISO 8601"),
])
def test_token_answers_are_validated(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(HubError, match=problem):
        TokenGrant.from_json({**GRANT, **change}, utc_now())
    with pytest.raises(HubError, match="JSON object"):
        TokenGrant.from_json("nope", utc_now())


def test_token_expiries_are_absolute() -> None:
    now = utc_now()
    grant = TokenGrant.from_json({**GRANT, "refresh_token_expires_at": "2030-01-01T00:00:00",
                                  "generation": 4}, now)
    assert grant.access_expires_at == now + timedelta(seconds=900)
    assert grant.refresh_expires_at is not None and grant.refresh_expires_at.year == 2030
    assert grant.refresh_expires_at.tzinfo is not None and grant.generation == 4
    assert TokenGrant.from_json(GRANT, now).refresh_expires_at is None


@pytest.mark.parametrize(("change", "problem"), [
    ({"teams": []}, "teams must be a non-empty list"), ({"generation": "2"}, "generation"),
    ({"issued_at": None}, "required"), ({"access_token_expires_at": 3}, "ISO 8601"),
])
def test_stored_sessions_are_validated(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Session.from_json({**sample_session().to_json(), **change})
    with pytest.raises(ValueError, match="JSON object"):
        Session.from_json(None)


def test_rotation_keeps_identity_and_counts_generations() -> None:
    session = sample_session(generation=None)
    now = utc_now()
    rotated = session.rotated(TokenGrant.from_json(GRANT, now), now)
    assert rotated.generation is None and rotated.email == session.email
    counted = dataclasses.replace(session, generation=3).rotated(
        TokenGrant.from_json(GRANT, now), now)
    assert counted.generation == 4 and counted.access_token == "a2"
    assert session.default_team is not None and session.default_team.id == "ada-space"
    assert dataclasses.replace(session, default_team_id="gone").default_team is None


# -- the refresh manager -------------------------------------------------------------------


class ScriptedOAuth:
    """Our OAuthClient's refresh() answering from a script: a grant dict or an error."""

    def __init__(self, script: list[Any], log: list[str]) -> None:
        self.script, self.log = script, log

    def __enter__(self) -> ScriptedOAuth:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def refresh(self, refresh_token: str, *, timeout: float | None = None) -> TokenGrant:
        self.log.append(refresh_token)
        step = self.script.pop(0)
        if isinstance(step, OAuthError):
            raise step
        if callable(step):
            return step()  # type: ignore[no-any-return]
        return TokenGrant.from_json(step, utc_now())


def _manager(tmp_path: Path, script: list[Any], **session_changes: Any
             ) -> tuple[TokenManager, SessionStore, list[str], list[float]]:
    store = SessionStore(RuntimePaths(tmp_path))
    with store.lock():
        store.save(sample_session(**session_changes))
    log: list[str] = []
    sleeps: list[float] = []
    manager = TokenManager(store, oauth_factory=lambda url: ScriptedOAuth(script, log),  # type: ignore[arg-type,return-value]
                           sleep=sleeps.append)
    return manager, store, log, sleeps


def test_proactive_refresh_and_adoption(tmp_path: Path) -> None:
    manager, store, log, _ = _manager(tmp_path, [GRANT], access_expires_at=utc_now())
    assert manager.access_token() == "a2" and log == ["refresh-SECRET-1"]
    stored = store.load()
    assert stored is not None and stored.refresh_token == "r2"
    other = TokenManager(store, oauth_factory=lambda url: ScriptedOAuth([], log))  # type: ignore[arg-type,return-value]
    assert other.refresh(stale_access_token="access-SECRET-1").access_token == "a2"
    assert log == ["refresh-SECRET-1"]  # adopted, not refreshed again


def test_benign_replay_retry_adopts_what_another_writer_stored(tmp_path: Path) -> None:
    manager, store, log, sleeps = _manager(tmp_path, [], access_expires_at=utc_now())
    busy = OAuthError("refresh_replay_benign_retry", "", 409, retry_after=7)
    manager._oauth_factory = lambda url: _RotateThenRefuse(store, busy, log)  # type: ignore[assignment,return-value]
    session = manager.refresh(stale_access_token="access-SECRET-1")
    assert session.access_token == "from-elsewhere" and sleeps == [2.0]  # retry_after capped


class _RotateThenRefuse(ScriptedOAuth):
    def __init__(self, store: SessionStore, error: OAuthError, log: list[str]) -> None:
        super().__init__([], log)
        self.store, self.error = store, error

    def refresh(self, refresh_token: str, *, timeout: float | None = None) -> TokenGrant:
        current = self.store.load()
        assert current is not None
        self.store.save(dataclasses.replace(current, access_token="from-elsewhere",
                                            refresh_token="r-elsewhere",
                                            access_expires_at=utc_now() + timedelta(hours=1)))
        raise self.error


def test_benign_retry_then_success_and_then_refusal(tmp_path: Path) -> None:
    busy = OAuthError("refresh_replay_benign_retry", "", 409)
    manager, _, log, sleeps = _manager(tmp_path, [busy, GRANT], access_expires_at=utc_now())
    assert manager.access_token() == "a2" and sleeps == [1.0] and len(log) == 2
    manager, _, log, _ = _manager(tmp_path / "b", [busy, busy], access_expires_at=utc_now())
    with pytest.raises(ReauthRequired):
        manager.access_token()


def test_refusals_are_reported_once_and_other_errors_pass_through(tmp_path: Path) -> None:
    invalid = OAuthError("invalid_grant", "", 400)
    manager, store, log, _ = _manager(tmp_path, [invalid], access_expires_at=utc_now())
    with pytest.raises(ReauthRequired) as first:
        manager.access_token()
    with pytest.raises(ReauthRequired) as second:
        manager.refresh(stale_access_token=None)
    assert first.value is second.value and len(log) == 1  # no second call to the hub
    assert store.load() is not None  # invalid_grant keeps the file for `auth status`
    manager, _, _, _ = _manager(tmp_path / "b", [OAuthError("server_error", "", 500)],
                                access_expires_at=utc_now())
    with pytest.raises(OAuthError):
        manager.access_token()
    manager, store, _, _ = _manager(tmp_path / "c", [], access_expires_at=utc_now(),
                                    refresh_expires_at=utc_now() - timedelta(seconds=1))
    with pytest.raises(ReauthRequired, match="expired"):
        manager.access_token()
    store.delete()
    with pytest.raises(NotLoggedIn):
        TokenManager(store).session()


def test_a_session_without_a_hub_url_belongs_to_the_given_hub(tmp_path: Path) -> None:
    store = SessionStore(RuntimePaths(tmp_path))
    with store.lock():
        store.save(sample_session(server_url=""))
    assert TokenManager(store, server_url="http://127.0.0.1:5").session().server_url == (
        "http://127.0.0.1:5")
    manager = TokenManager(store)
    store.delete()
    with pytest.raises(NotLoggedIn, match="logged out by another"):
        manager.refresh(stale_access_token="x")
