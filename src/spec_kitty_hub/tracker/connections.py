"""Provider connections of a team: added by an admin, secrets sealed, connectors built.

Per provider, the *resource* a connection stands for and the one secret it needs:

========  ===========================  =======================  ==================
provider  resource (``resource_id``)   other settings           secret (stdin)
========  ===========================  =======================  ==================
github    ``repo`` (owner/name)        ``base_url``             ``token`` (PAT or
                                                                app installation)
gitlab    ``project`` (path or id)     ``base_url``             ``token``
jira      ``project_key``              ``site_url``, ``email``  ``api_token``
linear    ``team_key``                 ``base_url``             ``api_key``
========  ===========================  =======================  ==================
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty_hub.connectors import IssueConnector, build_connector
from spec_kitty_hub.db.models import Team, utcnow
from spec_kitty_hub.db.tracker_tables import TrackerConnection
from spec_kitty_hub.errors import HubError
from spec_kitty_hub.tracker.crypto import SecretBox

RESOURCE_SETTING = {"github": "repo", "gitlab": "project", "jira": "project_key",
                    "linear": "team_key"}
SECRET_SETTING = {"github": "token", "gitlab": "token", "jira": "api_token",
                  "linear": "api_key"}
OTHER_SETTINGS = {"github": ("base_url",), "gitlab": ("base_url",),
                  "jira": ("site_url", "email"), "linear": ("base_url",)}
RESOURCE_TYPE = {"github": "github_repo", "gitlab": "gitlab_project",
                 "jira": "jira_project", "linear": "linear_team"}
REQUIRED_OTHER = {"jira": ("site_url", "email")}


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as the admin CLI and the API show it (never the secret)."""

    id: int
    team: str
    provider: str
    resource_id: str
    display_label: str
    settings: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "team": self.team, "provider": self.provider,
                "resource_id": self.resource_id, "display_label": self.display_label,
                "settings": self.settings}


def _info(row: TrackerConnection, team_slug: str) -> ConnectionInfo:
    return ConnectionInfo(row.id, team_slug, row.provider, row.resource_id,
                          row.display_label, json.loads(row.settings_json))


def _team(session: Session, slug: str) -> Team:
    team = session.scalar(select(Team).where(Team.slug == slug))
    if team is None:
        raise HubError(f"No team {slug!r}.", "TEAM_NOT_FOUND")
    return team


def connect(session: Session, box: SecretBox, team_slug: str, provider: str,
            settings: Mapping[str, str], secret: str, label: str | None = None
            ) -> ConnectionInfo:
    """Add (or replace the settings and secret of) a team's connection to one resource.

    ``settings`` holds the non-secret settings named in the module table; the secret
    comes separately and is stored sealed. Raises HubError ``TRACKER_BAD_CONNECTION``
    naming an unknown provider, a missing or unknown setting, or an empty secret.
    """
    provider = provider.strip().lower()
    if provider not in RESOURCE_SETTING:
        raise HubError(f"Unknown provider {provider!r}: use one of "
                       f"{', '.join(sorted(RESOURCE_SETTING))}.", "TRACKER_BAD_CONNECTION")
    allowed = {RESOURCE_SETTING[provider], *OTHER_SETTINGS[provider]}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        hint = " (secrets are read from standard input)" \
            if SECRET_SETTING[provider] in unknown else ""
        raise HubError(f"Unknown {provider} setting(s) {', '.join(unknown)}{hint}; allowed: "
                       f"{', '.join(sorted(allowed))}.", "TRACKER_BAD_CONNECTION")
    missing = [name for name in (RESOURCE_SETTING[provider], *REQUIRED_OTHER.get(provider, ()))
               if not str(settings.get(name) or "").strip()]
    if missing:
        raise HubError(f"The {provider} connection needs {', '.join(missing)}.",
                       "TRACKER_BAD_CONNECTION")
    if not secret.strip():
        raise HubError(f"Give the {provider} {SECRET_SETTING[provider]} on standard input.",
                       "TRACKER_BAD_CONNECTION")
    team = _team(session, team_slug)
    clean = {k: str(v).strip() for k, v in settings.items() if str(v).strip()}
    resource = clean.pop(RESOURCE_SETTING[provider])
    row = session.scalar(select(TrackerConnection).where(
        TrackerConnection.team_id == team.id, TrackerConnection.provider == provider,
        TrackerConnection.resource_id == resource))
    if row is None:
        row = TrackerConnection(team_id=team.id, provider=provider, resource_id=resource,
                                public_token="ctk_" + secrets.token_urlsafe(24))
        session.add(row)
    row.display_label = label or f"{provider}: {resource}"
    row.settings_json = json.dumps(clean, sort_keys=True)
    row.secret_ciphertext = box.seal({SECRET_SETTING[provider]: secret.strip()})
    row.updated_at = utcnow()
    session.flush()
    return _info(row, team.slug)


def list_connections(session: Session, team_slug: str | None = None) -> list[ConnectionInfo]:
    query = select(TrackerConnection, Team.slug).join(Team, Team.id == TrackerConnection.team_id)
    if team_slug is not None:
        query = query.where(Team.slug == team_slug)
    rows = session.execute(query.order_by(Team.slug, TrackerConnection.id)).all()
    return [_info(row, slug) for row, slug in rows]


def disconnect(session: Session, team_slug: str, connection_id: int) -> None:
    team = _team(session, team_slug)
    row = session.scalar(select(TrackerConnection).where(
        TrackerConnection.id == connection_id, TrackerConnection.team_id == team.id))
    if row is None:
        raise HubError(f"Team {team_slug!r} has no tracker connection {connection_id}.",
                       "TRACKER_CONNECTION_NOT_FOUND")
    session.delete(row)


def team_connections(session: Session, team_id: int, provider: str) -> list[TrackerConnection]:
    return list(session.scalars(select(TrackerConnection).where(
        TrackerConnection.team_id == team_id, TrackerConnection.provider == provider)
        .order_by(TrackerConnection.id)))


def open_connector(row: TrackerConnection, box: SecretBox, **http_options: Any
                   ) -> IssueConnector:
    """A connector for the connection, its secret opened only in memory."""
    settings: dict[str, Any] = json.loads(row.settings_json)
    settings[RESOURCE_SETTING[row.provider]] = row.resource_id
    if row.provider == "jira":
        settings.setdefault("project_key", row.resource_id)
    settings.update(box.open(row.secret_ciphertext))
    return build_connector(row.provider, settings, **http_options)
