"""The ``tracker:`` block of ``.kittify/config.yaml``: one binding per repository.

Keys (Spec Kitty reference §1): ``provider``, ``binding_ref``, ``project_slug``,
``display_label``, ``provider_context`` (string → string), ``workspace``,
``doctrine: {mode, field_owners}`` and the optional ``egress`` (``refused`` or
``permitted``). Every known key is written, nulls included, except ``egress``, which
is omitted when absent. Keys we do not know survive a load/save round trip, as do the
other top-level sections. Writes are atomic (temp file + rename) and serialised by a
file lock so two writers never lose each other's change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from spec_kitty.core.tracker.merge import FieldOwner, OwnershipMode, OwnershipPolicy
from spec_kitty.core.tracker.models import SYNCED_FIELDS
from spec_kitty.repo.atomic import write_text_atomic
from spec_kitty.repo.paths import KITTIFY
from spec_kitty.repo.yamlio import dumps, load_mapping
from spec_kitty.tracker.errors import TrackerConfigError
from spec_kitty.tracker.providers import (
    HUB_PROVIDERS,
    LOCAL_PROVIDERS,
    ProviderClass,
    normalize_provider,
    provider_class,
)

SECTION = "tracker"
_STRING_KEYS = ("binding_ref", "project_slug", "display_label", "workspace")
_KNOWN_KEYS = ("provider", *_STRING_KEYS, "provider_context", "doctrine", "egress")
_WRITE_ORDER = (
    "provider",
    "binding_ref",
    "project_slug",
    "display_label",
    "provider_context",
    "workspace",
    "doctrine",
)
EGRESS_VALUES = ("refused", "permitted")


def config_path(root: Path) -> Path:
    return root / KITTIFY / "config.yaml"


@dataclass(frozen=True)
class TrackerBinding:
    """A parsed ``tracker:`` block. ``extra`` and ``doctrine_extra`` hold unknown keys
    verbatim; ``egress`` is kept raw (a malformed value is a consent fault, not a
    parse error, so ``status`` can still show it)."""

    provider: str | None = None
    binding_ref: str | None = None
    project_slug: str | None = None
    display_label: str | None = None
    provider_context: dict[str, str] = field(default_factory=dict)
    workspace: str | None = None
    doctrine_mode: OwnershipMode = OwnershipMode.EXTERNAL_AUTHORITATIVE
    field_owners: dict[str, FieldOwner] = field(default_factory=dict)
    egress: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    doctrine_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def provider_class(self) -> ProviderClass | None:
        if self.provider in HUB_PROVIDERS:
            return ProviderClass.HUB
        if self.provider in LOCAL_PROVIDERS:
            return ProviderClass.LOCAL
        return None

    @property
    def is_configured(self) -> bool:
        """Hub-backed: a routing key; local: a workspace; unknown or removed: never."""
        if self.provider_class is ProviderClass.HUB:
            return bool(self.binding_ref or self.project_slug)
        if self.provider_class is ProviderClass.LOCAL:
            return bool(self.workspace)
        return False

    @property
    def policy(self) -> OwnershipPolicy:
        return OwnershipPolicy(self.doctrine_mode, dict(self.field_owners))

    def with_changes(self, **changes: Any) -> TrackerBinding:
        return replace(self, **changes)

    def to_mapping(self) -> dict[str, Any]:
        """The block as written: known keys in a fixed order, then unknown keys."""
        doctrine: dict[str, Any] = {
            "mode": self.doctrine_mode.value,
            "field_owners": {k: v.value for k, v in self.field_owners.items()},
        }
        doctrine.update(self.doctrine_extra)
        values: dict[str, Any] = {
            "provider": self.provider,
            "binding_ref": self.binding_ref,
            "project_slug": self.project_slug,
            "display_label": self.display_label,
            "provider_context": dict(self.provider_context),
            "workspace": self.workspace,
            "doctrine": doctrine,
        }
        block = {key: values[key] for key in _WRITE_ORDER}
        if self.egress is not None:
            block["egress"] = self.egress
        for key, value in self.extra.items():
            block.setdefault(key, value)
        return block


def _line_of(mapping: Any, key: str) -> int | None:
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except Exception:  # plain dicts and ruamel nodes without position info
        return None


def parse_binding(block: Any, path: Path) -> TrackerBinding:
    """Validate one ``tracker:`` mapping; bad values raise :class:`TrackerConfigError`."""
    if block is None:
        return TrackerBinding()
    if not isinstance(block, Mapping):
        raise TrackerConfigError(path, SECTION, "expected a mapping", _line_of(block, SECTION))

    def bad(key: str, problem: str, where: Any = block, name: str | None = None) -> NoReturn:
        raise TrackerConfigError(path, f"{SECTION}.{name or key}", problem, _line_of(where, key))

    strings: dict[str, str | None] = {}
    for key in ("provider", *_STRING_KEYS):
        value = block.get(key)
        if value is not None and not isinstance(value, str):
            bad(key, f"expected a string, got {type(value).__name__}")
        strings[key] = (value.strip() or None) if isinstance(value, str) else None
    provider = normalize_provider(strings["provider"]) if strings["provider"] else None

    context_raw = block.get("provider_context") or {}
    if not isinstance(context_raw, Mapping):
        bad("provider_context", "expected a mapping of strings")
    context: dict[str, str] = {}
    for key, value in context_raw.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            bad(str(key), "expected a string value", context_raw, f"provider_context.{key}")
        context[str(key)] = str(value)

    doctrine = block.get("doctrine") or {}
    if not isinstance(doctrine, Mapping):
        bad("doctrine", "expected a mapping with mode and field_owners")
    mode_raw = doctrine.get("mode") or OwnershipMode.EXTERNAL_AUTHORITATIVE.value
    try:
        mode = OwnershipMode(mode_raw)
    except ValueError:
        allowed = ", ".join(m.value for m in OwnershipMode)
        bad("mode", f"{mode_raw!r} is not one of {allowed}", doctrine, "doctrine.mode")
    owners_raw = doctrine.get("field_owners") or {}
    if not isinstance(owners_raw, Mapping):
        bad("field_owners", "expected a mapping", doctrine, "doctrine.field_owners")
    owners: dict[str, FieldOwner] = {}
    for name, value in owners_raw.items():
        where = f"doctrine.field_owners.{name}"
        if name not in SYNCED_FIELDS:
            fields = ", ".join(SYNCED_FIELDS)
            bad(str(name), f"unknown field; fields are {fields}", owners_raw, where)
        try:
            owners[str(name)] = FieldOwner(value)
        except ValueError:
            allowed = ", ".join(o.value for o in FieldOwner)
            bad(str(name), f"{value!r} is not one of {allowed}", owners_raw, where)

    return TrackerBinding(
        provider=provider,
        binding_ref=strings["binding_ref"],
        project_slug=strings["project_slug"],
        display_label=strings["display_label"],
        provider_context=context,
        workspace=strings["workspace"],
        doctrine_mode=mode,
        field_owners=owners,
        egress=block.get("egress"),
        extra={k: v for k, v in block.items() if k not in _KNOWN_KEYS},
        doctrine_extra={k: v for k, v in doctrine.items() if k not in ("mode", "field_owners")},
    )


def _load_document(path: Path) -> Any:
    if not path.exists():
        from ruamel.yaml.comments import CommentedMap

        return CommentedMap()
    return load_mapping(path)


def load_binding(root: Path) -> TrackerBinding:
    """The project's binding; an empty :class:`TrackerBinding` when there is none.

    Reads never write (contract C-TB-1: a hub response never rewrites config).
    """
    path = config_path(root)
    return parse_binding(_load_document(path).get(SECTION), path)


@contextmanager
def _config_lock(root: Path) -> Iterator[None]:
    from filelock import FileLock

    lock_dir = root / KITTIFY
    lock_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_dir / ".config.yaml.lock"), timeout=30):
        yield


def save_binding(root: Path, binding: TrackerBinding) -> None:
    """Write ``binding`` as the ``tracker:`` block; other sections stay byte-for-byte
    equivalent (round-trip YAML keeps their comments and order)."""
    if binding.provider is not None:
        provider_class(binding.provider)  # removed/unknown providers are never persisted
    path = config_path(root)
    with _config_lock(root):
        document = _load_document(path)
        document[SECTION] = binding.to_mapping()
        write_text_atomic(path, dumps(document))


def unbind(root: Path) -> bool:
    """Remove the binding. A recorded ``egress`` decision is kept (alone in the block),
    since it is the user's consent, not part of the binding. Returns whether anything
    changed."""
    path = config_path(root)
    with _config_lock(root):
        document = _load_document(path)
        block = document.get(SECTION)
        if block is None:
            return False
        egress = block.get("egress") if isinstance(block, Mapping) else None
        if egress is not None:
            if dict(block) == {"egress": egress}:
                return False
            document[SECTION] = {"egress": egress}
        else:
            del document[SECTION]
        write_text_atomic(path, dumps(document))
    return True
