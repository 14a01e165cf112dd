"""``TrackerService``: the one entry point of the tracker commands and the lane hook.

It loads the binding from ``.kittify/config.yaml`` and dispatches on the provider's
class: beads/fp → :class:`LocalTrackerService`; GitHub/GitLab/Jira/Linear →
:class:`HubTrackerService` over a :class:`HubTrackerClient` from
``hub_client_factory`` (the CLI passes the authenticated hub client; without one,
hub-backed operations fail with ``TRACKER_HUB_CLIENT_UNAVAILABLE``). There is no
fallback from one class to the other. Reads never write the config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from spec_kitty.core.tracker.merge import FieldOwner, OwnershipMode
from spec_kitty.core.tracker.models import SYNCED_FIELDS
from spec_kitty.tracker.config import TrackerBinding, load_binding, save_binding, unbind
from spec_kitty.tracker.errors import (
    HardBreakError,
    HubClientUnavailable,
    TrackerError,
    TrackerNotConfigured,
)
from spec_kitty.tracker.hub.service import (
    ITEMS_REQUIRED,
    MAP_ADD_HUB,
    HubTrackerClient,
    HubTrackerService,
    credentials_refused,
)
from spec_kitty.tracker.local.base import LocalConnector
from spec_kitty.tracker.local_service import LocalTrackerService
from spec_kitty.tracker.projection import WorkPackageTicket
from spec_kitty.tracker.providers import (
    HUB_PROVIDERS,
    ProviderClass,
    normalize_provider,
    provider_class,
    providers_payload,
)

HubClientFactory = Callable[[TrackerBinding], HubTrackerClient]
Choose = Callable[[list[dict[str, Any]]], int]  # candidates -> 1-based number
Confirm = Callable[[str], bool]  # a yes/no question -> the answer


def parse_doctrine(mode: str | None, owners: Mapping[str, str] | None
                   ) -> tuple[OwnershipMode | None, dict[str, FieldOwner]]:
    """Parse ``--doctrine-mode``/``--field-owner`` values; TRACKER_DOCTRINE_INVALID.

    Field names are checked here too: the config loader rejects an unknown field, so
    saving one would leave a config no tracker command can read.
    """
    unknown = sorted(set(owners or {}) - set(SYNCED_FIELDS))
    if unknown:
        raise TrackerError(f"--field-owner {', '.join(unknown)}: unknown field; fields are "
                           f"{', '.join(SYNCED_FIELDS)}.", "TRACKER_DOCTRINE_INVALID")
    try:
        return (OwnershipMode(mode) if mode else None,
                {k: FieldOwner(v) for k, v in (owners or {}).items()})
    except ValueError as exc:
        raise TrackerError(f"{exc}: modes are {', '.join(m.value for m in OwnershipMode)}; "
                           f"owners are {', '.join(o.value for o in FieldOwner)}.",
                           "TRACKER_DOCTRINE_INVALID") from None


def parse_egress(egress: str) -> str:
    """``permitted`` or ``refused`` (case-insensitive); TRACKER_EGRESS_INVALID otherwise."""
    from spec_kitty.tracker.config import EGRESS_VALUES

    value = egress.strip().lower()
    if value not in EGRESS_VALUES:
        raise TrackerError(f"--egress must be permitted or refused, got {egress!r}.",
                           "TRACKER_EGRESS_INVALID")
    return value


def check_bind_request(
    provider: str,
    *,
    credentials: Mapping[str, str] | None = None,
    doctrine_mode: str | None = None,
    field_owners: Mapping[str, str] | None = None,
    egress: str | None = None,
) -> tuple[str, ProviderClass]:
    """The normalised provider and its class, after every check ``bind`` makes before
    it writes anything: a removed or unknown provider, credentials for a hub-backed
    provider (hard breaks), an unknown credential key, a bad doctrine or egress value.
    Raises the matching :class:`TrackerError`; writes nothing."""
    name = normalize_provider(provider)
    kind = provider_class(name)
    if kind is ProviderClass.HUB and credentials:
        raise credentials_refused(name)
    if credentials:
        from spec_kitty.tracker.credentials import check_tool_settings

        check_tool_settings(name, credentials)
    parse_doctrine(doctrine_mode, field_owners)
    if egress is not None:
        parse_egress(egress)
    return name, kind


class TrackerService:
    def __init__(
        self,
        root: Path,
        *,
        hub_client_factory: HubClientFactory | None = None,
        local_connector: LocalConnector | None = None,
    ) -> None:
        self.root = root
        self._hub_client_factory = hub_client_factory
        self._local_connector = local_connector

    @staticmethod
    def providers() -> dict[str, list[str]]:
        return providers_payload()

    @property
    def binding(self) -> TrackerBinding:
        return load_binding(self.root)

    def backend(self) -> LocalTrackerService | HubTrackerService:
        binding = self.binding
        if binding.provider is None:
            raise TrackerNotConfigured()
        kind = provider_class(binding.provider)  # removed/unknown providers fail hard here
        if not binding.is_configured:
            detail = (
                "--workspace is required for local providers."
                if kind is ProviderClass.LOCAL
                else ("no binding_ref or project_slug is recorded.")
            )
            raise TrackerNotConfigured(detail)
        if kind is ProviderClass.LOCAL:
            return LocalTrackerService(self.root, binding, connector=self._local_connector)
        if self._hub_client_factory is None:
            raise HubClientUnavailable(binding.provider)
        return HubTrackerService(binding, self._hub_client_factory(binding))

    # -- binding -----------------------------------------------------------------
    def bind(
        self,
        provider: str,
        *,
        choose: Choose,
        confirm: Confirm,
        bind_ref: str | None = None,
        select: int | None = None,
        workspace: str | None = None,
        doctrine_mode: str | None = None,
        field_owners: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
        egress: str | None = None,
    ) -> TrackerBinding:
        """``spec-kitty tracker bind``: returns the persisted binding.

        Order (each step only when the previous passed): :func:`check_bind_request`
        (nothing written yet). Local providers: the preflight, the binding (workspace
        required), ``egress``, then the tool settings (``credentials``). Hub-backed:
        ``egress`` first (the preflight's consent check reads it), the preflight
        (readiness, consent), resolve/confirm/select through the hub
        (:func:`~spec_kitty.tracker.hub.bind.bind_through_hub`, which calls ``choose``
        and ``confirm``), then the doctrine. Raises :class:`TrackerError` or
        :class:`~spec_kitty.hosted.readiness.NotReady`.
        """
        from spec_kitty.tracker.preflight import require_ready

        name, kind = check_bind_request(provider, credentials=credentials,
                                        doctrine_mode=doctrine_mode,
                                        field_owners=field_owners, egress=egress)
        if kind is ProviderClass.LOCAL:
            require_ready(self.root, name, needs_binding=False)
            binding = self.bind_local(name, workspace, doctrine_mode=doctrine_mode,
                                      field_owners=field_owners)
            if egress is not None:
                binding = self.set_egress(egress)
            if credentials:
                from spec_kitty.tracker.credentials import save_tool_settings

                save_tool_settings(name, credentials)
            return binding
        from spec_kitty.tracker.hub.bind import bind_through_hub

        if egress is not None:
            self.set_egress(egress)
        require_ready(self.root, name, needs_binding=False)
        if self._hub_client_factory is None:
            raise HubClientUnavailable(name)
        client = self._hub_client_factory(self.binding)
        binding = bind_through_hub(self.root, name, client,  # type: ignore[arg-type]
                                   bind_ref=bind_ref, select=select, choose=choose,
                                   confirm=confirm)
        if doctrine_mode or field_owners:
            binding = self.set_doctrine(doctrine_mode, field_owners)
        return binding

    def check_push_request(self, *, items_given: bool) -> None:
        """``sync push`` for a hub-backed binding needs PushItems: a hard break, checked
        before any prerequisite so its message does not depend on login."""
        provider = self.binding.provider
        if provider in HUB_PROVIDERS and not items_given:
            raise HardBreakError(ITEMS_REQUIRED, "TRACKER_PUSH_ITEMS_REQUIRED",
                                 provider=provider)

    def check_map_add_request(self) -> None:
        """``map add`` for a hub-backed binding: a hard break, before any prerequisite."""
        provider = self.binding.provider
        if provider in HUB_PROVIDERS:
            raise HardBreakError(MAP_ADD_HUB, "TRACKER_MAPPING_HUB_MANAGED", provider=provider)

    def bind_local(
        self,
        provider: str,
        workspace: str | None,
        *,
        doctrine_mode: str | None = None,
        field_owners: Mapping[str, str] | None = None,
    ) -> TrackerBinding:
        """Persist a beads/fp binding (unknown keys and ``egress`` already there survive)."""
        name = normalize_provider(provider)
        if provider_class(name) is not ProviderClass.LOCAL:
            raise TrackerError(
                f"{name} is hub-backed; bind it through the hub.", "TRACKER_NOT_LOCAL"
            )
        if not workspace or not workspace.strip():
            raise TrackerError(
                "--workspace is required for local providers.", "TRACKER_WORKSPACE_REQUIRED"
            )
        current = self.binding
        parsed, owners = parse_doctrine(doctrine_mode, field_owners)
        binding = current.with_changes(
            provider=name,
            workspace=workspace.strip(),
            binding_ref=None,
            project_slug=None,
            doctrine_mode=parsed or current.doctrine_mode,
            field_owners=owners or current.field_owners,
        )
        save_binding(self.root, binding)
        return binding

    def bind_hub(
        self,
        provider: str,
        *,
        binding_ref: str | None = None,
        project_slug: str | None = None,
        display_label: str | None = None,
        provider_context: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> TrackerBinding:
        """Persist what the hub returned from bind-confirm/bind-validate (the CLI's bind
        goes through :mod:`.hub_bind`). Credentials are refused with the hard-break message."""
        name = normalize_provider(provider)
        if provider_class(name) is not ProviderClass.HUB:
            raise TrackerError(f"{name} is a local provider; use bind_local.", "TRACKER_NOT_HUB")
        if credentials:
            raise credentials_refused(name)
        if not (binding_ref or project_slug):
            raise TrackerError(
                "A hub binding needs a binding_ref (or legacy project_slug).", "MISSING_ROUTING_KEY"
            )
        binding = self.binding.with_changes(
            provider=name,
            binding_ref=binding_ref,
            project_slug=project_slug,
            workspace=None,
            display_label=display_label,
            provider_context=dict(provider_context or {}),
        )
        save_binding(self.root, binding)
        return binding

    def set_doctrine(
        self, doctrine_mode: str | None, field_owners: Mapping[str, str] | None
    ) -> TrackerBinding:
        """Change the ownership doctrine of the current binding (other keys survive)."""
        current = self.binding
        parsed, owners = parse_doctrine(doctrine_mode, field_owners)
        binding = current.with_changes(doctrine_mode=parsed or current.doctrine_mode,
                                       field_owners=owners or current.field_owners)
        save_binding(self.root, binding)
        return binding

    def set_egress(self, egress: str) -> TrackerBinding:
        """Record the tracker consent (``permitted`` or ``refused``) in ``tracker.egress``."""
        binding = self.binding.with_changes(egress=parse_egress(egress))
        save_binding(self.root, binding)
        return binding

    def unbind(self) -> bool:
        return unbind(self.root)

    # -- operations (dispatch) -----------------------------------------------------
    def status(self) -> dict[str, Any]:
        if self.binding.provider is None:
            return {"configured": False, "provider": None}
        return self.backend().status()

    def pull(self, limit: int = 100) -> dict[str, Any]:
        return self.backend().pull(limit)

    def push(
        self, limit: int = 100, *, items: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        backend = self.backend()
        if isinstance(backend, HubTrackerService):
            return backend.push(limit, items=items)
        return backend.push(limit)

    def run(self, limit: int = 100) -> dict[str, Any]:
        return self.backend().run(limit)

    def publish(self) -> dict[str, Any]:
        return self.backend().publish()

    def map_add(
        self, mission_slug: str, wp_id: str, external_id: str, **kwargs: Any
    ) -> dict[str, Any]:
        return self.backend().map_add(mission_slug, wp_id, external_id, **kwargs)

    def map_list(self) -> dict[str, Any]:
        return self.backend().map_list()

    def project(
        self, tickets: list[WorkPackageTicket], *, only_mapped: bool = False
    ) -> dict[str, Any]:
        """One ticket per work package in the bound tracker (see :mod:`.projection`)."""
        return self.backend().project(tickets, only_mapped=only_mapped)
