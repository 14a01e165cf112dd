"""The logged-in session: who, on which hub, with which tokens until when.

Shapes follow the hub contract (sync-subsystem reference §3.2): identity from
``GET /api/v1/me`` (``user_id``, ``email``, ``name``, ``teams[{id, name, role,
is_private_teamspace}]``) and tokens from ``POST /oauth/token``. The default team is the
private teamspace, otherwise the first team; a user with no team cannot log in.

Timestamps are timezone-aware UTC ``datetime`` objects in memory and ISO 8601 strings
in the (encrypted) file. Tokens never appear in ``repr()`` or in :meth:`Session.public`.

The stored JSON uses the published Spec Kitty CLI's field names and values (observed by
decrypting a session it wrote; reference §3.2 "Session storage"), so both CLIs can share
one session file: ``auth_method`` is ``authorization_code`` or ``device_code``,
``storage_backend`` is ``file``, teams carry ``slug`` (= ``id``), ``generation`` may be
null, ``user_id`` keeps the hub's JSON type. ``server_url`` is our addition (the other
CLI ignores it); a session written without it belongs to the configured hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from spec_kitty.auth.errors import HubError

REFRESH_MARGIN = timedelta(seconds=5)
FORMAT_VERSION = 2
BROWSER = "authorization_code"
DEVICE = "device_code"
AUTH_METHODS = {
    BROWSER: "Browser (Authorization Code with PKCE)",
    DEVICE: "Headless (Device Authorization Grant)",
}
STORAGE_BACKEND = "file"
UserId = int | str


def utc_now() -> datetime:
    """Now, in whole seconds (what the file keeps, so a stored session reads back equal)."""
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse_time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an ISO 8601 string")
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _user_id(data: dict[str, Any]) -> UserId:
    value = data.get("user_id")
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ValueError("user_id must be a number or a non-empty string")
    return value


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids may be numbers on the wire
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{key} must be a non-empty string")
    return value


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    role: str
    is_private_teamspace: bool

    @classmethod
    def from_json(cls, data: Any) -> Team:
        if not isinstance(data, dict):
            raise ValueError("each team must be an object")
        private = data.get("is_private_teamspace", False)
        if not isinstance(private, bool):
            raise ValueError("is_private_teamspace must be true or false")
        return cls(_text(data, "id"), _text(data, "name", required=False) or _text(data, "id"),
                   _text(data, "role", required=False), private)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role,
                "is_private_teamspace": self.is_private_teamspace, "slug": self.id}


@dataclass(frozen=True)
class Identity:
    """The answer of ``GET /api/v1/me``."""

    user_id: UserId
    email: str
    name: str
    teams: tuple[Team, ...]

    @classmethod
    def from_json(cls, data: Any) -> Identity:
        """Parse and validate; raises :class:`HubError` (``HUB_BAD_RESPONSE``, ``NO_TEAMS``)."""
        try:
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            teams = data.get("teams")
            if not isinstance(teams, list):
                raise ValueError("teams must be a list")
            identity = cls(_user_id(data), _text(data, "email"),
                           _text(data, "name", required=False),
                           tuple(Team.from_json(team) for team in teams))
        except ValueError as exc:
            raise HubError(f"The hub's /api/v1/me answer is unusable: {exc}.",
                           "HUB_BAD_RESPONSE") from None
        if not identity.teams:
            raise HubError(f"{identity.email} is not a member of any team on this hub.",
                           "NO_TEAMS", hint="Ask a hub administrator to add you to a team.")
        return identity

    @property
    def default_team(self) -> Team:
        """The private teamspace, otherwise the first team."""
        for team in self.teams:
            if team.is_private_teamspace:
                return team
        return self.teams[0]


@dataclass(frozen=True)
class TokenGrant:
    """A successful ``POST /oauth/token`` answer, expiries made absolute."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    session_id: str
    scope: str
    generation: int | None

    @classmethod
    def from_json(cls, data: Any, now: datetime) -> TokenGrant:
        """Raises :class:`HubError` (``HUB_BAD_RESPONSE``) when a required field is missing."""
        try:
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            expires_in = data.get("expires_in")
            if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
                raise ValueError("expires_in must be a number of seconds")
            refresh_expires_at = _parse_time(data.get("refresh_token_expires_at"),
                                             "refresh_token_expires_at")
            refresh_in = data.get("refresh_token_expires_in")
            if refresh_expires_at is None and isinstance(refresh_in, int | float):
                refresh_expires_at = now + timedelta(seconds=int(refresh_in))
            generation = data.get("generation")
            return cls(_text(data, "access_token"), _text(data, "refresh_token"),
                       now + timedelta(seconds=int(expires_in)), refresh_expires_at,
                       _text(data, "session_id"), _text(data, "scope", required=False),
                       generation if isinstance(generation, int) else None)
        except ValueError as exc:
            raise HubError(f"The hub's token answer is unusable: {exc}.",
                           "HUB_BAD_RESPONSE") from None


@dataclass(frozen=True)
class Session:
    server_url: str
    user_id: UserId
    email: str
    name: str
    teams: tuple[Team, ...]
    default_team_id: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    session_id: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    scope: str
    auth_method: str
    generation: int | None
    last_used_at: datetime
    storage_backend: str = STORAGE_BACKEND

    @classmethod
    def create(cls, server_url: str, grant: TokenGrant, identity: Identity, auth_method: str,
               now: datetime) -> Session:
        return cls(server_url, identity.user_id, identity.email, identity.name, identity.teams,
                   identity.default_team.id, grant.access_token, grant.refresh_token,
                   grant.session_id, now, grant.access_expires_at, grant.refresh_expires_at,
                   grant.scope, auth_method, grant.generation, now)

    def rotated(self, grant: TokenGrant, now: datetime) -> Session:
        """This session after a refresh: new tokens and expiries, same identity."""
        return replace(self, access_token=grant.access_token, refresh_token=grant.refresh_token,
                       session_id=grant.session_id or self.session_id,
                       access_expires_at=grant.access_expires_at,
                       refresh_expires_at=grant.refresh_expires_at or self.refresh_expires_at,
                       scope=grant.scope or self.scope,
                       generation=grant.generation if grant.generation is not None
                       else None if self.generation is None else self.generation + 1,
                       last_used_at=now)

    def access_usable(self, now: datetime) -> bool:
        """More than the refresh margin (5 s) is left on the access token."""
        return self.access_expires_at - now > REFRESH_MARGIN

    def refresh_usable(self, now: datetime) -> bool:
        return self.refresh_expires_at is None or self.refresh_expires_at > now

    @property
    def default_team(self) -> Team | None:
        return next((t for t in self.teams if t.id == self.default_team_id), None)

    def to_json(self) -> dict[str, Any]:
        """Everything, tokens included: only for the encrypted file."""
        return {**self.public(), "access_token": self.access_token,
                "refresh_token": self.refresh_token}

    def public(self) -> dict[str, Any]:
        """Everything but the tokens (for ``status --json``, logs and errors)."""
        return {
            "server_url": self.server_url, "user_id": self.user_id, "email": self.email,
            "name": self.name, "teams": [team.to_json() for team in self.teams],
            "default_team_id": self.default_team_id, "session_id": self.session_id,
            "issued_at": _iso(self.issued_at),
            "access_token_expires_at": _iso(self.access_expires_at),
            "refresh_token_expires_at": _iso(self.refresh_expires_at),
            "scope": self.scope, "auth_method": self.auth_method,
            "generation": self.generation, "last_used_at": _iso(self.last_used_at),
            "storage_backend": self.storage_backend,
        }

    @classmethod
    def from_json(cls, data: Any) -> Session:
        """Raises ``ValueError`` naming the first bad field."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        teams = data.get("teams")
        if not isinstance(teams, list) or not teams:
            raise ValueError("teams must be a non-empty list")
        generation = data.get("generation")
        if generation is not None and (not isinstance(generation, int)
                                       or isinstance(generation, bool)):
            raise ValueError("generation must be an integer or null")
        issued = _parse_time(data.get("issued_at"), "issued_at")
        access_expires = _parse_time(data.get("access_token_expires_at"),
                                     "access_token_expires_at")
        if issued is None or access_expires is None:
            raise ValueError("issued_at and access_token_expires_at are required")
        return cls(
            _text(data, "server_url", required=False), _user_id(data), _text(data, "email"),
            _text(data, "name", required=False), tuple(Team.from_json(t) for t in teams),
            _text(data, "default_team_id"), _text(data, "access_token"),
            _text(data, "refresh_token"), _text(data, "session_id"), issued, access_expires,
            _parse_time(data.get("refresh_token_expires_at"), "refresh_token_expires_at"),
            _text(data, "scope", required=False), _text(data, "auth_method"), generation,
            _parse_time(data.get("last_used_at"), "last_used_at") or issued,
            _text(data, "storage_backend", required=False) or STORAGE_BACKEND,
        )
