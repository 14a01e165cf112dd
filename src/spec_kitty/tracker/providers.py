"""Which trackers exist and who serves them.

Hub-backed providers (GitHub, GitLab, Jira, Linear) are reached only through the
team hub, which holds the provider credentials; the CLI never calls them directly.
Local providers (beads, fp) are command-line tools run on this machine.
"""

from __future__ import annotations

from enum import StrEnum

from spec_kitty.tracker.errors import RemovedProviderError, UnknownProviderError

HUB_PROVIDERS: tuple[str, ...] = ("linear", "jira", "github", "gitlab")
LOCAL_PROVIDERS: tuple[str, ...] = ("beads", "fp")
REMOVED_PROVIDERS: tuple[str, ...] = ("azure_devops",)


class ProviderClass(StrEnum):
    HUB = "hub"
    LOCAL = "local"


def normalize_provider(name: str) -> str:
    """Strip and lowercase only: ``azure-devops`` stays unknown, as in the reference."""
    return name.strip().lower()


def provider_class(name: str) -> ProviderClass:
    """Classify a provider name; removed and unknown names raise their hard-fail errors."""
    provider = normalize_provider(name)
    if provider in HUB_PROVIDERS:
        return ProviderClass.HUB
    if provider in LOCAL_PROVIDERS:
        return ProviderClass.LOCAL
    if provider in REMOVED_PROVIDERS:
        raise RemovedProviderError(provider)
    raise UnknownProviderError(provider, [*HUB_PROVIDERS, *LOCAL_PROVIDERS])


def providers_payload() -> dict[str, list[str]]:
    """The ``tracker providers --json`` shape. ``saas`` is the published CLI's key name."""
    return {"saas": list(HUB_PROVIDERS), "local": list(LOCAL_PROVIDERS)}
