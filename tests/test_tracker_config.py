"""The ``tracker:`` binding in .kittify/config.yaml (reference §1)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from spec_kitty.core.tracker.merge import FieldOwner, OwnershipMode
from spec_kitty.repo import yamlio
from spec_kitty.tracker.config import (
    TrackerBinding,
    config_path,
    load_binding,
    parse_binding,
    save_binding,
    unbind,
)
from spec_kitty.tracker.errors import (
    RemovedProviderError,
    TrackerConfigError,
    UnknownProviderError,
)
from spec_kitty.tracker.providers import ProviderClass, provider_class, providers_payload

SIBLINGS = """\
# project settings, edited by hand
vcs:
  type: git   # keep this comment
agents:
  available: [claude, codex]
project:
  uuid: 1234
"""


def _project(tmp_path: Path, text: str = SIBLINGS) -> Path:
    (tmp_path / ".kittify").mkdir()
    config_path(tmp_path).write_text(text)
    return tmp_path


def _yaml(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def test_save_writes_every_known_key_with_nulls_and_keeps_siblings(tmp_path: Path) -> None:
    root = _project(tmp_path)
    save_binding(root, TrackerBinding(provider="beads", workspace="ws"))
    text = config_path(root).read_text()
    assert "type: git   # keep this comment" in text
    assert text.startswith("# project settings, edited by hand")
    data = _yaml(config_path(root))
    assert data["agents"] == {"available": ["claude", "codex"]}
    assert data["tracker"] == {
        "provider": "beads",
        "binding_ref": None,
        "project_slug": None,
        "display_label": None,
        "provider_context": {},
        "workspace": "ws",
        "doctrine": {"mode": "external_authoritative", "field_owners": {}},
    }
    assert "egress" not in data["tracker"]


def test_provider_is_normalised_by_strip_and_lowercase_only(tmp_path: Path) -> None:
    root = _project(tmp_path, SIBLINGS + "tracker:\n  provider: '  GitHub '\n  binding_ref: srm_1\n")
    binding = load_binding(root)
    assert binding.provider == "github"
    assert binding.provider_class is ProviderClass.HUB
    assert binding.is_configured
    with pytest.raises(UnknownProviderError, match="Unknown provider 'azure-devops'"):
        provider_class("Azure-DevOps")


def test_azure_devops_fails_hard_with_the_reference_message(tmp_path: Path) -> None:
    with pytest.raises(RemovedProviderError) as err:
        provider_class(" AZURE_DEVOPS ")
    assert err.value.message == "Provider 'azure_devops' is no longer supported."
    assert err.value.code == "TRACKER_PROVIDER_REMOVED"
    root = _project(tmp_path)
    with pytest.raises(RemovedProviderError):
        save_binding(root, TrackerBinding(provider="azure_devops", workspace="x"))
    assert "tracker" not in _yaml(config_path(root))


@pytest.mark.parametrize(
    ("block", "configured"),
    [
        ({"provider": "github"}, False),
        ({"provider": "github", "project_slug": "legacy"}, True),
        ({"provider": "jira", "binding_ref": "srm_9"}, True),
        ({"provider": "linear", "workspace": "ignored-for-hub"}, False),
        ({"provider": "beads"}, False),
        ({"provider": "fp", "workspace": "w"}, True),
        ({"provider": "beads", "binding_ref": "srm_1"}, False),
        ({"provider": "azure_devops", "binding_ref": "srm_1", "workspace": "w"}, False),
        ({"provider": "trello", "workspace": "w"}, False),
        ({}, False),
    ],
)
def test_is_configured(block: dict, configured: bool) -> None:
    assert parse_binding(block, Path("c.yaml")).is_configured is configured


def test_providers_payload_lists_classes() -> None:
    assert providers_payload() == {
        "saas": ["linear", "jira", "github", "gitlab"],
        "local": ["beads", "fp"],
    }


@pytest.mark.parametrize(
    ("snippet", "field", "line"),
    [
        ("  doctrine:\n    mode: fancy\n", "tracker.doctrine.mode", 11),
        ("  doctrine:\n    field_owners:\n      title: nobody\n", "tracker.doctrine.field_owners.title", 12),
        ("  doctrine:\n    field_owners:\n      colour: local\n", "tracker.doctrine.field_owners.colour", 12),
        ("  workspace: [a, b]\n", "tracker.workspace", 10),
        ("  provider_context: [x]\n", "tracker.provider_context", 10),
    ],
)
def test_bad_values_name_file_line_and_field(tmp_path: Path, snippet: str, field: str, line: int) -> None:
    root = _project(tmp_path, SIBLINGS + "tracker:\n  provider: beads\n" + snippet)
    with pytest.raises(TrackerConfigError) as err:
        load_binding(root)
    assert err.value.details["field"] == field
    assert err.value.details["line"] == line
    assert str(config_path(root)) in err.value.message


def test_doctrine_round_trip(tmp_path: Path) -> None:
    root = _project(tmp_path)
    binding = TrackerBinding(
        provider="beads",
        workspace="ws",
        doctrine_mode=OwnershipMode.SPLIT_OWNERSHIP,
        field_owners={"title": FieldOwner.LOCAL, "status": FieldOwner.EXTERNAL},
        egress="permitted",
    )
    save_binding(root, binding)
    assert load_binding(root) == binding
    assert load_binding(root).policy.owner("body") is FieldOwner.SHARED


def test_unbind_removes_block_but_keeps_recorded_egress(tmp_path: Path) -> None:
    root = _project(tmp_path)
    save_binding(root, TrackerBinding(provider="fp", workspace="w", egress="permitted"))
    assert unbind(root) is True
    assert _yaml(config_path(root))["tracker"] == {"egress": "permitted"}
    assert load_binding(root).provider is None
    assert unbind(root) is False
    save_binding(root, TrackerBinding(provider="fp", workspace="w"))
    assert unbind(root) is True
    data = _yaml(config_path(root))
    assert "tracker" not in data and data["vcs"] == {"type": "git"}
    assert unbind(root) is False


def test_missing_config_file_reads_as_unbound(tmp_path: Path) -> None:
    assert load_binding(tmp_path) == TrackerBinding()


def test_concurrent_saves_never_lose_sibling_sections(tmp_path: Path) -> None:
    root = _project(tmp_path)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                save_binding(root, TrackerBinding(provider="beads", workspace=f"w{n}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    data = _yaml(config_path(root))
    assert data["project"] == {"uuid": 1234}
    assert data["tracker"]["workspace"].endswith("-14")


_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda k: k
    not in {"provider", "binding_ref", "project_slug", "display_label", "provider_context",
            "workspace", "doctrine", "egress", "mode", "field_owners"}
)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=20))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=6,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(extra=st.dictionaries(_keys, _values, max_size=4), doctrine_extra=st.dictionaries(_keys, _values, max_size=2))
def test_unknown_keys_survive_a_round_trip(tmp_path: Path, extra: dict, doctrine_extra: dict) -> None:
    root = tmp_path / "p"
    root.mkdir(exist_ok=True)
    (root / ".kittify").mkdir(exist_ok=True)
    block = {"provider": "beads", "workspace": "w", **extra, "doctrine": {"mode": "split_ownership", **doctrine_extra}}
    stream_path = config_path(root)
    stream_path.write_text(yamlio.dumps({"vcs": {"type": "git"}, "tracker": block}), encoding="utf-8")
    binding = load_binding(root)
    assert binding.extra == extra
    save_binding(root, binding.with_changes(display_label="changed"))
    data = _yaml(stream_path)
    for key, value in extra.items():
        assert data["tracker"][key] == value
    for key, value in doctrine_extra.items():
        assert data["tracker"]["doctrine"][key] == value
    assert data["tracker"]["display_label"] == "changed"
    assert data["vcs"] == {"type": "git"}


@pytest.mark.parametrize("value", ["\x85", "a\x85b", "\u2028", "x\u2029", "\x85 "])
def test_values_with_yaml_line_breaks_survive_our_writer(tmp_path: Path, value: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yamlio.dumps({"a": value}), encoding="utf-8")
    assert yamlio.load_mapping(path)["a"] == value
