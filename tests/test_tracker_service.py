"""TrackerService dispatch by provider class, and the hub-backed interface's contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spec_kitty.tracker.config import TrackerBinding, load_binding, save_binding
from spec_kitty.tracker.errors import (
    HardBreakError,
    HubClientUnavailable,
    RemovedProviderError,
    TrackerError,
    TrackerNotConfigured,
    UnknownProviderError,
)
from spec_kitty.tracker.hub.service import HubTrackerService, Routing
from spec_kitty.tracker.local_service import LocalTrackerService
from spec_kitty.tracker.providers import ProviderClass
from spec_kitty.tracker.service import TrackerService


class RecordingClient:
    """Stands in for next round's HTTP client: records what the service asks of the hub."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Routing | None, dict[str, Any]]] = []

    def _record(self, name: str, provider: str, routing: Routing | None, **kw: Any) -> dict[str, Any]:
        self.calls.append((name, provider, routing, kw))
        return {"op": name}

    def status(self, provider: str, routing: Routing | None) -> dict[str, Any]:
        return self._record("status", provider, routing)

    def mappings(self, provider: str, routing: Routing | None) -> dict[str, Any]:
        return self._record("mappings", provider, routing)

    def pull(self, provider: str, routing: Routing, *, limit: int, cursor: str | None = None) -> dict[str, Any]:
        return self._record("pull", provider, routing, limit=limit)

    def push(self, provider: str, routing: Routing, items: list[dict[str, Any]], *,
             idempotency_key: str | None = None) -> dict[str, Any]:
        return self._record("push", provider, routing, items=items, idempotency_key=idempotency_key)

    def run(self, provider: str, routing: Routing, *, limit: int,
            idempotency_key: str | None = None) -> dict[str, Any]:
        return self._record("run", provider, routing, limit=limit, idempotency_key=idempotency_key)

    def issue_search(self, provider: str, routing: Routing, *, query_text: str | None,
                     query_key: str | None, limit: int) -> dict[str, Any]:
        return self._record("issue_search", provider, routing, query_text=query_text,
                            query_key=query_key, limit=limit)

    def list_tickets(self, provider: str, routing: Routing, *, limit: int) -> dict[str, Any]:
        return self._record("list_tickets", provider, routing, limit=limit)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "config.yaml").write_text("project:\n  uuid: p-1\n")
    return tmp_path


def test_dispatch_by_provider_class(project: Path) -> None:
    client = RecordingClient()
    service = TrackerService(project, hub_client_factory=lambda binding: client)
    assert service.status() == {"configured": False, "provider": None}
    with pytest.raises(TrackerNotConfigured):
        service.pull()
    service.bind_local("Beads", "ws")
    assert isinstance(service.backend(), LocalTrackerService)
    service.bind_hub("github", binding_ref="srm_123", display_label="octo/demo",
                     provider_context={"repo": "octo/demo"})
    binding = load_binding(project)
    assert (binding.provider, binding.workspace, binding.binding_ref) == ("github", None, "srm_123")
    assert isinstance(service.backend(), HubTrackerService)
    assert service.pull(limit=7) == {"op": "pull"}
    assert client.calls[-1] == ("pull", "github", Routing("srm_123", None), {"limit": 7})


def test_hub_backed_without_a_client_fails_clearly(project: Path) -> None:
    save_binding(project, TrackerBinding(provider="jira", project_slug="legacy-slug"))
    with pytest.raises(HubClientUnavailable) as err:
        TrackerService(project).pull()
    assert err.value.code == "TRACKER_HUB_CLIENT_UNAVAILABLE"


def test_removed_and_unknown_providers_in_config_fail_hard(project: Path) -> None:
    config = project / ".kittify" / "config.yaml"
    config.write_text("tracker:\n  provider: azure_devops\n  binding_ref: srm_1\n")
    with pytest.raises(RemovedProviderError, match="Provider 'azure_devops' is no longer supported."):
        TrackerService(project).pull()
    config.write_text("tracker:\n  provider: azure-devops\n  binding_ref: srm_1\n")
    with pytest.raises(UnknownProviderError, match="Unknown provider 'azure-devops'"):
        TrackerService(project).status()


def test_routing_prefers_binding_ref_and_needs_one_key() -> None:
    assert Routing("srm_1", "slug").to_params() == {"binding_ref": "srm_1"}
    assert Routing(None, "slug").to_params() == {"project_slug": "slug"}
    with pytest.raises(TrackerError) as err:
        Routing().to_params()
    assert err.value.code == "MISSING_ROUTING_KEY"


def test_hard_breaks_for_hub_backed_providers(project: Path) -> None:
    client = RecordingClient()
    service = TrackerService(project, hub_client_factory=lambda binding: client)
    with pytest.raises(HardBreakError) as err:
        service.bind_hub("linear", binding_ref="srm_9", credentials={"api_key": "x"})
    assert err.value.message == (
        "Direct provider credentials are no longer supported for linear. "
        "Run `spec-kitty auth login` and connect the provider on the team hub.")
    assert load_binding(project).provider is None  # nothing persisted
    service.bind_hub("linear", binding_ref="srm_9")
    with pytest.raises(HardBreakError, match="managed on the team hub"):
        service.map_add("m", "WP01", "ENG-1")
    with pytest.raises(HardBreakError, match="Snapshot publish is not supported for hub-backed providers"):
        service.publish()
    with pytest.raises(HardBreakError, match="--items-json is required"):
        service.push()
    assert client.calls == []


def test_writes_pass_the_callers_idempotency_key_or_leave_it_to_the_client(project: Path) -> None:
    """The hub client keeps one durable key per logical operation (test_tracker_hub_client)."""
    client = RecordingClient()
    service = TrackerService(project, hub_client_factory=lambda binding: client)
    service.bind_hub("gitlab", project_slug="legacy")
    items = [{"ref": {"system": "gitlab", "workspace": "g/d", "id": "1"}, "action": "update"}]
    service.push(items=items)
    service.push(items=items)
    service.run()
    assert [call[3]["idempotency_key"] for call in client.calls] == [None, None, None]
    backend = service.backend()
    assert isinstance(backend, HubTrackerService)
    backend.push(items=items, idempotency_key="retry-of-op-1")
    assert client.calls[-1][3]["idempotency_key"] == "retry-of-op-1"
    backend.search("ENG-12")
    backend.search("payment retries")
    assert client.calls[-2][3]["query_key"] == "ENG-12" and client.calls[-1][3]["query_text"] == "payment retries"
    backend.list_tickets(limit=3)
    backend.status(all_bindings=True)
    assert client.calls[-1][2] is None and backend.map_list() == {"op": "mappings"}


def test_bind_rules(project: Path) -> None:
    service = TrackerService(project)
    with pytest.raises(TrackerError, match="hub-backed"):
        service.bind_local("github", "ws")
    with pytest.raises(TrackerError, match="local provider"):
        service.bind_hub("fp", binding_ref="srm")
    with pytest.raises(TrackerError, match="binding_ref"):
        service.bind_hub("github")
    save_binding(project, TrackerBinding(provider="beads", workspace="old", egress="permitted", extra={"x": 1}))
    service.bind_local("beads", "new", doctrine_mode="split_ownership", field_owners={"title": "local"})
    binding = load_binding(project)
    assert (binding.workspace, binding.egress, binding.extra, binding.doctrine_mode.value) == (
        "new", "permitted", {"x": 1}, "split_ownership")
    assert service.unbind() is True and load_binding(project).egress == "permitted"
    assert TrackerService.providers()["local"] == ["beads", "fp"]


class BindingHub(RecordingClient):
    """Stands in for the hub's bind endpoints: one resource, confirmed as srm_7."""

    def resources(self, provider: str) -> dict[str, Any]:
        self.calls.append(("resources", provider, None, {}))
        return {"resources": [{"candidate_token": "tok-1", "display_label": "octo/demo"}]}

    def bind_confirm(self, provider: str, candidate_token: str,
                     identity: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("bind_confirm", provider, None, {"token": candidate_token}))
        return {"binding_ref": "srm_7", "display_label": "octo/demo"}


def _never(*_: Any) -> Any:
    raise AssertionError("nothing to choose or confirm here")


def test_bind_checks_every_value_before_writing_then_binds_in_order(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``TrackerService.bind`` (what ``spec-kitty tracker bind`` calls): every hard break
    and bad value before any write; egress before the hub-backed preflight reads it."""
    from spec_kitty.hosted.readiness import NotReady
    from spec_kitty.hosted.runtime import RuntimePaths
    from spec_kitty.tracker.service import check_bind_request

    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    client = BindingHub()
    factory_calls: list[TrackerBinding] = []

    def factory(binding: TrackerBinding) -> BindingHub:
        factory_calls.append(binding)
        return client

    service = TrackerService(project, hub_client_factory=factory)  # type: ignore[arg-type]
    config = project / ".kittify" / "config.yaml"
    before = config.read_text()
    refused: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"provider": "azure_devops", "egress": "permitted"}, RemovedProviderError, ""),
        ({"provider": "github", "credentials": {"token": "x"}, "egress": "permitted"},
         HardBreakError, "TRACKER_CREDENTIALS_UNSUPPORTED"),
        ({"provider": "beads", "workspace": "w", "credentials": {"token": "x"},
          "egress": "permitted"}, TrackerError, "TRACKER_CREDENTIAL_UNKNOWN"),
        ({"provider": "fp", "workspace": "w", "field_owners": {"bogus": "local"},
          "egress": "permitted"}, TrackerError, "TRACKER_DOCTRINE_INVALID"),
        ({"provider": "beads", "workspace": "w", "egress": "sometimes"}, TrackerError,
         "TRACKER_EGRESS_INVALID"),
        ({"provider": "beads", "egress": "permitted"}, TrackerError,
         "TRACKER_WORKSPACE_REQUIRED"),
    ]
    for request, error, code in refused:
        with pytest.raises(error) as err:
            service.bind(choose=_never, confirm=_never, **request)
        assert not code or err.value.code == code, request  # type: ignore[attr-defined]
        assert config.read_text() == before, request
    assert check_bind_request(" GitHub ", egress="Refused") == ("github", ProviderClass.HUB)
    # Hub-backed, not logged in: the egress is recorded, then readiness stops the bind
    # before any hub client exists.
    with pytest.raises(NotReady) as not_ready:
        service.bind("github", choose=_never, confirm=_never, select=1, egress="permitted")
    assert not_ready.value.code == "MISSING_AUTH"
    assert load_binding(project).egress == "permitted" and factory_calls == []
    # Logged in (a session file and a hub URL are what readiness checks): the bind runs
    # through the hub, then the doctrine is applied.
    session_file = RuntimePaths.current().session_file
    session_file.parent.mkdir(parents=True, exist_ok=True)
    session_file.write_text("{}")
    monkeypatch.setenv("SPEC_KITTY_SAAS_URL", "http://127.0.0.1:9")
    bound = service.bind("github", choose=_never, confirm=_never, select=1,
                         doctrine_mode="spec_kitty_authoritative")
    assert (bound.provider, bound.binding_ref, bound.egress) == ("github", "srm_7", "permitted")
    assert bound.doctrine_mode is not None and bound.doctrine_mode.value == \
        "spec_kitty_authoritative"
    assert [call[0] for call in client.calls] == ["resources", "bind_confirm"]
    # The push and map-add hard breaks of a hub-backed binding, before any prerequisite.
    with pytest.raises(HardBreakError) as push:
        service.check_push_request(items_given=False)
    assert push.value.code == "TRACKER_PUSH_ITEMS_REQUIRED"
    service.check_push_request(items_given=True)
    with pytest.raises(HardBreakError) as mapped:
        service.check_map_add_request()
    assert mapped.value.code == "TRACKER_MAPPING_HUB_MANAGED"
    # Local: bound with its egress and tool settings (no preflight beyond the gate).
    local = service.bind("beads", choose=_never, confirm=_never, workspace="ws",
                         credentials={"command": "bd"}, egress="refused")
    assert (local.provider, local.workspace, local.egress) == ("beads", "ws", "refused")
    from spec_kitty.tracker.store import runtime_root

    assert 'command = "bd"' in (runtime_root() / "credentials").read_text()
    service.check_push_request(items_given=False)
    service.check_map_add_request()
