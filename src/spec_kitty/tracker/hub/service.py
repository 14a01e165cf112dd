"""Hub-backed trackers (GitHub, GitLab, Jira, Linear): the interface the façade talks to.

The CLI never calls a provider: every operation is a request to the team hub's
``/api/v1/tracker/*`` endpoints (the PRI-12 contract, reference §2). This module fixes
the seam. :class:`HubTrackerClient` is the transport contract (bearer token,
``X-Team-Slug``, 401 → one refresh, 429 → one wait, 202 → polling, both error-envelope
spellings), to be implemented over the authenticated httpx client of
``spec_kitty.auth``. :class:`HubTrackerService` turns façade calls into client calls,
routes by ``binding_ref`` (wins) or ``project_slug`` and enforces the hard breaks, whose
messages are fixed here. Writes pass the caller's ``Idempotency-Key`` or None, in which
case the client keeps one durable key per logical operation (:mod:`.attempts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from spec_kitty.tracker.config import TrackerBinding
from spec_kitty.tracker.errors import HardBreakError, TrackerError
from spec_kitty.tracker.projection import WorkPackageTicket, hub_item

MAP_ADD_HUB = (
    "Mappings for hub-backed providers are managed on the team hub; "
    "`tracker map add` works only for local providers (beads, fp)."
)
PUBLISH_HUB = (
    "Snapshot publish is not supported for hub-backed providers. "
    "Use `spec-kitty tracker sync push` instead."
)
ITEMS_REQUIRED = "--items-json is required for hub-backed providers (a JSON array of PushItems)."


def credentials_refused(provider: str) -> HardBreakError:
    return HardBreakError(
        f"Direct provider credentials are no longer supported for {provider}. "
        "Run `spec-kitty auth login` and connect the provider on the team hub.",
        "TRACKER_CREDENTIALS_UNSUPPORTED",
        provider=provider,
    )


@dataclass(frozen=True)
class Routing:
    """How the hub finds the binding: ``binding_ref`` wins over the legacy ``project_slug``."""

    binding_ref: str | None = None
    project_slug: str | None = None

    @classmethod
    def of(cls, binding: TrackerBinding) -> Routing:
        return cls(binding.binding_ref, binding.project_slug)

    def to_params(self) -> dict[str, str]:
        if self.binding_ref:
            return {"binding_ref": self.binding_ref}
        if self.project_slug:
            return {"project_slug": self.project_slug}
        raise TrackerError("No binding_ref or project_slug to route by.", "MISSING_ROUTING_KEY")


class HubTrackerClient(Protocol):
    """One method per ``/api/v1/tracker/`` endpoint; each returns the decoded JSON body
    (after 202 polling, the operation's ``result``) or raises a :class:`TrackerError`
    built from the hub's error envelope. Writes take the caller's idempotency key and
    reuse it on every retry of that call."""

    def status(self, provider: str, routing: Routing | None) -> dict[str, Any]: ...

    def mappings(self, provider: str, routing: Routing | None) -> dict[str, Any]: ...

    def pull(
        self, provider: str, routing: Routing, *, limit: int, cursor: str | None = None
    ) -> dict[str, Any]: ...

    def push(
        self,
        provider: str,
        routing: Routing,
        items: list[dict[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]: ...

    def run(
        self, provider: str, routing: Routing, *, limit: int, idempotency_key: str | None = None
    ) -> dict[str, Any]: ...

    def issue_search(
        self,
        provider: str,
        routing: Routing | None,
        *,
        query_text: str | None,
        query_key: str | None,
        limit: int,
    ) -> dict[str, Any]: ...

    def list_tickets(self, provider: str, routing: Routing, *, limit: int) -> dict[str, Any]: ...


def _keep_queue_flowing() -> None:
    """A hub-backed tracker sync talks to the hub anyway: make sure the background daemon
    runs so the event queue keeps flowing too (``REMOTE_REQUIRED``; the policy, the gate
    and the login still decide). Never fails the command and never waits."""
    from spec_kitty.sync.daemon.policy import DaemonIntent, ensure_in_background

    ensure_in_background(DaemonIntent.REMOTE_REQUIRED)


class HubTrackerService:
    def __init__(self, binding: TrackerBinding, client: HubTrackerClient) -> None:
        if binding.provider is None:
            raise TrackerError("No provider in the binding.", "TRACKER_NOT_CONFIGURED")
        self.binding = binding
        self.provider = binding.provider
        self.client = client

    def _routing(self) -> Routing:
        routing = Routing.of(self.binding)
        routing.to_params()  # fails early with MISSING_ROUTING_KEY
        return routing

    def status(self, *, all_bindings: bool = False) -> dict[str, Any]:
        return self.client.status(self.provider, None if all_bindings else self._routing())

    def map_list(self) -> dict[str, Any]:
        return self.client.mappings(self.provider, self._routing())

    def map_add(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise HardBreakError(MAP_ADD_HUB, "TRACKER_MAPPING_HUB_MANAGED", provider=self.provider)

    def publish(self) -> dict[str, Any]:
        raise HardBreakError(PUBLISH_HUB, "TRACKER_PUBLISH_UNSUPPORTED", provider=self.provider)

    def pull(self, limit: int = 100) -> dict[str, Any]:
        _keep_queue_flowing()
        return self.client.pull(self.provider, self._routing(), limit=limit)

    def push(
        self,
        limit: int = 100,
        *,
        items: list[dict[str, Any]] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        if items is None:
            raise HardBreakError(
                ITEMS_REQUIRED, "TRACKER_PUSH_ITEMS_REQUIRED", provider=self.provider
            )
        _keep_queue_flowing()
        return self.client.push(
            self.provider,
            self._routing(),
            items,
            idempotency_key=idempotency_key,
        )

    def run(self, limit: int = 100, *, idempotency_key: str | None = None) -> dict[str, Any]:
        _keep_queue_flowing()
        return self.client.run(
            self.provider,
            self._routing(),
            limit=limit,
            idempotency_key=idempotency_key,
        )

    def search(self, query: str, *, limit: int = 5) -> dict[str, Any]:
        looks_like_key = any(ch.isdigit() for ch in query) and " " not in query.strip()
        return self.client.issue_search(
            self.provider,
            self._routing(),
            limit=limit,
            query_key=query.strip() if looks_like_key else None,
            query_text=None if looks_like_key else query,
        )

    def list_tickets(self, limit: int = 20) -> dict[str, Any]:
        return self.client.list_tickets(self.provider, self._routing(), limit=limit)

    def project(
        self, tickets: list[WorkPackageTicket], *, only_mapped: bool = False
    ) -> dict[str, Any]:
        """Create or update one issue per work package (one push; the hub maps them).
        ``only_mapped`` (lane-change hook) leaves work packages without an issue alone."""
        mapped = {(m.get("mission_slug"), m.get("wp_id")) for m in self.map_list()["mappings"]}
        items = []
        for ticket in tickets:
            known = (ticket.mission_slug, ticket.wp_id) in mapped
            if only_mapped and not known:
                continue
            item = hub_item(ticket, self.binding.policy, mapped=known)
            if item is not None:
                items.append(item)
        if not items:
            return {"status": "ok", "items": [], "summary": {"total": 0, "succeeded": 0,
                                                             "failed": 0, "skipped": 0}}
        return self.client.push(self.provider, self._routing(), items)
