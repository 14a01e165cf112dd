"""Local-provider tool settings in ``<runtime root>/credentials`` (TOML, 0600, locked).

Table ``[tracker.providers.<provider>]`` with ``command`` and ``cwd`` (reference §1).
Hub-backed providers never write here: their credentials live on the team hub.
"""

from __future__ import annotations

from collections.abc import Mapping

from filelock import FileLock

from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.tracker.errors import TrackerError
from spec_kitty.tracker.store import runtime_root

ALLOWED = ("command", "cwd")


def check_tool_settings(provider: str, settings: Mapping[str, str]) -> None:
    """TRACKER_CREDENTIAL_UNKNOWN unless every key is one of :data:`ALLOWED`."""
    unknown = sorted(set(settings) - set(ALLOWED))
    if unknown:
        raise TrackerError(f"Unknown --credential key(s) {', '.join(unknown)} for {provider}; "
                           f"allowed: {', '.join(ALLOWED)}.", "TRACKER_CREDENTIAL_UNKNOWN")


def save_tool_settings(provider: str, settings: Mapping[str, str]) -> None:
    """Merge ``settings`` into the provider's table (other tables and keys survive)."""
    import tomlkit

    check_tool_settings(provider, settings)
    path = runtime_root() / "credentials"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with FileLock(str(path) + ".lock"):
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() \
            else tomlkit.document()
        tracker = document.setdefault("tracker", tomlkit.table())
        providers = tracker.setdefault("providers", tomlkit.table())
        table = providers.setdefault(provider, tomlkit.table())
        for key, value in settings.items():
            table[key] = value
        write_text_atomic(path, tomlkit.dumps(document), mode=0o600)


def clear_tool_settings(provider: str) -> bool:
    """Drop the provider's table; returns whether there was one."""
    import tomlkit

    path = runtime_root() / "credentials"
    if not path.exists():
        return False
    with FileLock(str(path) + ".lock"):
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
        providers = document.get("tracker", {}).get("providers", {})
        if provider not in providers:
            return False
        del providers[provider]
        write_text_atomic(path, tomlkit.dumps(document), mode=0o600)
        return True
