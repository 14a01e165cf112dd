"""The compiled validator (jsonschema-rs) that confirms valid envelopes on the hub's hot
path never accepts what jsonschema, the reference, refuses."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from spec_kitty.core.sync import schemas as sync_schemas
from sync_hub_helpers import Repo

REPO = Repo(team="acme")
VALID = [REPO.move("m", "WP01", "planned", "claimed", 1),
         REPO.created("m", "WP02", "Title", 2)]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)


def _reference(name: str, value: Any) -> bool:
    return not list(sync_schemas._validator(name).iter_errors(value))


def test_the_fast_validator_is_installed_with_the_hub() -> None:
    assert sync_schemas._fast_validator("envelope") is not None


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from(VALID), key=st.sampled_from(sorted(VALID[0])), value=JSON,
       drop=st.booleans(), in_payload=st.booleans(), index=st.integers(0, 50))
def test_fast_and_reference_validators_agree(base: dict[str, Any], key: str, value: Any,
                                             drop: bool, in_payload: bool,
                                             index: int) -> None:
    event = {**base, "payload": dict(base["payload"])}
    target = event["payload"] if in_payload else event
    payload_keys = sorted(base["payload"])
    field = payload_keys[index % len(payload_keys)] if in_payload else key
    if drop:
        target.pop(field, None)
    else:
        target[field] = value
    checks = [("envelope", event)]
    if isinstance(event.get("payload"), dict):
        checks.append((base["event_type"], event["payload"]))
    for name, instance in checks:
        fast = sync_schemas._fast_validator(name)
        assert fast.is_valid(instance) == _reference(name, instance), (name, instance)
