"""Provider connectors the hub uses to reach GitHub, GitLab, Jira Cloud and Linear.

Self-contained: httpx for the wire, :mod:`spec_kitty.core` for the canonical issue
model, nothing else from the CLI. One module per provider, all implementing
:class:`~spec_kitty_hub.connectors.base.IssueConnector`; :func:`build_connector`
makes one from a provider name and its connection settings.
"""

from __future__ import annotations

from typing import Any

from spec_kitty_hub.connectors.base import IssueConnector, IssueDraft, IssuePatch
from spec_kitty_hub.connectors.errors import (
    AuthenticationFailed,
    ConnectorError,
    InvalidRequest,
    NetworkFailure,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    UnexpectedResponse,
    UnsupportedTransition,
)
from spec_kitty_hub.connectors.http import RetryPolicy

PROVIDERS = ("github", "gitlab", "jira", "linear")

__all__ = [
    "PROVIDERS",
    "AuthenticationFailed",
    "ConnectorError",
    "InvalidRequest",
    "IssueConnector",
    "IssueDraft",
    "IssuePatch",
    "NetworkFailure",
    "NotFound",
    "PermissionDenied",
    "ProviderUnavailable",
    "RateLimited",
    "RetryPolicy",
    "UnexpectedResponse",
    "UnsupportedTransition",
    "build_connector",
]


def build_connector(provider: str, settings: dict[str, Any], **http_options: Any) -> IssueConnector:
    """A connector for ``provider`` from its connection settings.

    Settings per provider (secrets come from the hub's encrypted connection store):
    github ``{repo, token, base_url?}``; gitlab ``{project, token, base_url?}``;
    jira ``{site_url, project_key, email, api_token}``; linear ``{team_key, api_key,
    base_url?, oauth?}``. Raises ``ValueError`` for an unknown provider or a missing
    setting (naming it).
    """
    required = {
        "github": ("repo", "token"),
        "gitlab": ("project", "token"),
        "jira": ("site_url", "project_key", "email", "api_token"),
        "linear": ("team_key", "api_key"),
    }
    if provider not in required:
        raise ValueError(
            f"unknown provider {provider!r}; connectors exist for {', '.join(PROVIDERS)}"
        )
    missing = [name for name in required[provider] if not settings.get(name)]
    if missing:
        raise ValueError(f"{provider} connection is missing {', '.join(missing)}")
    options = {**settings, **http_options}
    if provider == "github":
        from spec_kitty_hub.connectors.github import GitHubConnector

        return GitHubConnector(options.pop("repo"), options.pop("token"), **options)
    if provider == "gitlab":
        from spec_kitty_hub.connectors.gitlab import GitLabConnector

        return GitLabConnector(options.pop("project"), options.pop("token"), **options)
    if provider == "jira":
        from spec_kitty_hub.connectors.jira import JiraConnector

        return JiraConnector(
            options.pop("site_url"),
            options.pop("project_key"),
            options.pop("email"),
            options.pop("api_token"),
            **options,
        )
    from spec_kitty_hub.connectors.linear import LinearConnector

    return LinearConnector(options.pop("team_key"), options.pop("api_key"), **options)
