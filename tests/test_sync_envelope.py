"""The sync contract: envelope construction, the 4-group lane collapse, schema validation."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec_kitty.core.status.lanes import Lane, UnknownLane
from spec_kitty.core.sync.envelope import (
    EVENT_TYPES,
    LANE_COLLAPSE,
    MISSION_CREATED,
    SCHEMA_VERSION,
    EnvelopeContext,
    EnvelopeError,
    SyncLane,
    collapse_lane,
    derived_event_id,
    envelope_for_status_event,
    mission_envelope,
    wp_created_envelope,
)
from spec_kitty.core.sync.schemas import envelope_problems, load_schema, schema_names

CTX = EnvelopeContext(build_id="build-1", node_id="abcdef012345",
                      project_uuid=str(uuid.UUID(int=7)), team_slug="team-a",
                      project_slug="demo", git_branch="main",
                      head_commit_sha="a" * 40, repo_slug="acme/demo")
TRANSITION_LANES = [lane for lane in Lane if lane not in (Lane.UNINITIALIZED,)]
TARGET_LANES = [lane for lane in TRANSITION_LANES if lane is not Lane.GENESIS]


def status_row(**overrides: Any) -> dict[str, Any]:
    row = {
        "event_id": "01J0000000000000000000000A", "mission_slug": "001-demo",
        "mission_id": "01J00000000000000000000MID", "wp_id": "WP01",
        "from_lane": "planned", "to_lane": "claimed", "at": "2026-11-29T10:00:00.000001+00:00",
        "actor": "claude", "force": False, "execution_mode": "worktree", "reason": None,
        "review_ref": None, "evidence": None, "policy_metadata": {"agent": "claude"},
    }
    row.update(overrides)
    return row


# ---- the 4-group collapse --------------------------------------------------------


def test_collapse_matches_the_reference_table() -> None:
    expected = {
        "genesis": "planned", "planned": "planned", "claimed": "planned", "canceled": "planned",
        "in_progress": "doing", "blocked": "doing", "for_review": "for_review",
        "in_review": "for_review", "approved": "done", "done": "done", "doing": "doing",
    }
    assert {lane: collapse_lane(lane) for lane in expected} == expected
    assert {lane.value for lane in LANE_COLLAPSE} == {lane.value for lane in TRANSITION_LANES}


@pytest.mark.parametrize("bad", ["uninitialized", "awaiting-review", "", "DONEE", None, 3])
def test_unknown_lane_raises_never_defaults(bad: object) -> None:
    with pytest.raises(UnknownLane) as info:
        collapse_lane(bad)
    assert info.value.code == "UNKNOWN_LANE"


@settings(deadline=None)
@given(st.sampled_from([lane.value for lane in TRANSITION_LANES] + ["doing"]),
       st.sampled_from(["", " ", "  "]), st.booleans())
def test_collapse_ignores_case_and_spaces(lane: str, pad: str, upper: bool) -> None:
    spelled = pad + (lane.upper() if upper else lane) + pad
    assert collapse_lane(spelled) == collapse_lane(lane) in SyncLane.ALL


@settings(deadline=None)
@given(st.text(max_size=20))
def test_collapse_of_arbitrary_text_is_a_sync_lane_or_an_error(text: str) -> None:
    known = {lane.value for lane in TRANSITION_LANES} | {"doing"}
    if text.strip().lower() in known:
        assert collapse_lane(text) in SyncLane.ALL
    else:
        with pytest.raises(UnknownLane):
            collapse_lane(text)


# ---- construction ----------------------------------------------------------------


def test_status_event_envelope_keeps_the_log_id_and_time() -> None:
    row = status_row()
    env = envelope_for_status_event(row, CTX, 42)
    assert env["event_id"] == row["event_id"]
    assert env["timestamp"] == row["at"]
    assert env["event_type"] == "WPStatusChanged"
    assert env["aggregate_id"] == "WP01" and env["aggregate_type"] == "WorkPackage"
    assert env["schema_version"] == SCHEMA_VERSION == "3.0.0"
    assert env["lamport_clock"] == 42 and env["correlation_id"] == row["event_id"]
    assert env["team_slug"] == "team-a" and env["repo_slug"] == "acme/demo"
    payload = env["payload"]
    assert payload["from_lane"] == "planned" and payload["to_lane"] == "claimed"
    assert payload["sync_lane"] == "planned" and payload["from_sync_lane"] == "planned"
    assert "policy_metadata" not in payload and "at" not in payload
    assert envelope_problems(env) == []
    json.dumps(env)  # plain JSON


def test_causation_becomes_the_correlation() -> None:
    env = envelope_for_status_event(status_row(), CTX, 1, causation_id="01J0000000000000000000000B")
    assert env["causation_id"] == env["correlation_id"] == "01J0000000000000000000000B"


def test_doing_alias_is_normalised_and_missing_from_lane_is_null() -> None:
    row = status_row(to_lane="doing")
    del row["from_lane"]
    payload = envelope_for_status_event(row, CTX, 1)["payload"]
    assert payload["to_lane"] == "in_progress" and payload["sync_lane"] == "doing"
    assert payload["from_lane"] is None and payload["from_sync_lane"] is None


@pytest.mark.parametrize("field,value,error", [
    ("to_lane", "awaiting-review", UnknownLane), ("from_lane", "uninitialized", UnknownLane),
    ("to_lane", "genesis", EnvelopeError), ("wp_id", "", EnvelopeError),
    ("event_id", None, EnvelopeError), ("at", None, EnvelopeError),
])
def test_bad_status_rows_raise(field: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        envelope_for_status_event(status_row(**{field: value}), CTX, 1)


def test_derived_ids_are_stable_ulids_ordered_by_time() -> None:
    first = derived_event_id(MISSION_CREATED, "m1:", "2026-11-29T10:00:00+00:00")
    assert first == derived_event_id(MISSION_CREATED, "m1:", "2026-11-29T10:00:00+00:00")
    assert first != derived_event_id(MISSION_CREATED, "m2:", "2026-11-29T10:00:00+00:00")
    later = derived_event_id(MISSION_CREATED, "m1:", "2026-11-29T10:00:01Z")
    assert len(first) == 26 and first < later
    from ulid import ULID
    assert ULID.from_str(first).milliseconds == 1795946400000
    with pytest.raises(EnvelopeError):
        derived_event_id(MISSION_CREATED, "m1", "yesterday")


def test_lifecycle_envelopes_validate() -> None:
    created = mission_envelope(MISSION_CREATED, mission_slug="001-demo", mission_id=None, payload={
        "mission_slug": "001-demo", "mission_number": 1, "mission_type": "software-dev",
        "target_branch": "main", "wp_count": 0, "friendly_name": "Demo",
        "purpose_tldr": "", "purpose_context": ""}, timestamp="2026-11-29T10:00:00Z",
        lamport_clock=3, context=CTX)
    assert created["aggregate_id"] == "001-demo" and envelope_problems(created) == []
    wp = wp_created_envelope(mission_slug="001-demo", mission_id="M", payload={
        "wp_id": "WP01", "wp_title": "Do it", "mission_slug": "001-demo", "actor": "cli"},
        timestamp="2026-11-29T10:00:00Z", lamport_clock=4, context=CTX)
    assert wp["aggregate_id"] == "WP01" and envelope_problems(wp) == []
    accepted = mission_envelope("MissionAccepted", mission_slug="001-demo", mission_id="M",
                                payload={"mission_slug": "001-demo", "actor": "me"},
                                timestamp="2026-11-29T10:00:00Z", lamport_clock=5, context=CTX)
    assert envelope_problems(accepted) == []


# ---- validation ------------------------------------------------------------------


def _fields(env: Any, **kwargs: Any) -> set[str]:
    return {p.field for p in envelope_problems(env, **kwargs)}


def test_validation_names_each_bad_field() -> None:
    env = envelope_for_status_event(status_row(), CTX, 1)
    env.update(schema_version="1.0.0", lamport_clock=-1, project_uuid="nope")
    env["payload"]["to_lane"] = "awaiting-review"
    env["payload"]["feature_slug"] = "old"
    assert _fields(env) == {"schema_version", "lamport_clock", "project_uuid",
                            "payload.to_lane", "payload.feature_slug"}
    assert "FORBIDDEN_KEY" in {p.code for p in envelope_problems(env)}


def test_cross_field_rules() -> None:
    env = envelope_for_status_event(status_row(force=True, reason=" "), CTX, 1)
    env["payload"]["sync_lane"] = "done"
    assert _fields(env) == {"payload.reason", "payload.sync_lane"}
    env = envelope_for_status_event(status_row(), CTX, 1)
    env["timestamp"] = "not a time"
    assert _fields(env) == {"timestamp"}


def test_unknown_types_and_non_objects() -> None:
    env = envelope_for_status_event(status_row(), CTX, 1)
    env["event_type"] = "MissionDossierArtifactIndexed"
    assert _fields(env) == {"event_type"}
    assert _fields(env, known_types_only=False) == set()
    env["event_type"] = "FeatureCreated"
    assert _fields(env, known_types_only=False) == {"event_type"}
    assert _fields([1, 2]) == {"(envelope)"}


def test_published_cli_shape_without_sync_lane_is_accepted() -> None:
    env = envelope_for_status_event(status_row(), CTX, 1)
    for key in ("sync_lane", "from_sync_lane", "mission_id"):
        del env["payload"][key]
    env["data_tier"] = 0  # extra envelope keys are allowed
    assert envelope_problems(env) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3), max_leaves=10)


# Generation speed depends on the machine's load, never on the code under test.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["event_id", "event_type", "payload", "timestamp",
                                        "lamport_clock", "schema_version", "project_uuid"]),
                       json_values, max_size=7))
def test_validation_never_raises_on_garbage(env: dict[str, Any]) -> None:
    problems = envelope_problems(env)
    assert problems  # required fields are always missing or wrong here
    assert all(p.field and p.message for p in problems)


@settings(deadline=None)
@given(st.sampled_from(TRANSITION_LANES), st.sampled_from(TARGET_LANES), st.booleans(),
       st.integers(min_value=0, max_value=2**40))
def test_every_real_transition_builds_a_valid_envelope(from_lane: Lane, to_lane: Lane,
                                                      force: bool, clock: int) -> None:
    row = status_row(from_lane=from_lane.value, to_lane=to_lane.value, force=force,
                     reason="because" if force else None)
    env = envelope_for_status_event(row, CTX, clock)
    assert envelope_problems(env) == []
    assert env["payload"]["sync_lane"] == LANE_COLLAPSE[to_lane]


# ---- packaging -------------------------------------------------------------------


def test_every_schema_loads_and_is_a_valid_draft_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    assert set(schema_names()) == {"envelope", *EVENT_TYPES}
    for name in schema_names():
        Draft202012Validator.check_schema(load_schema(name))
    with pytest.raises(KeyError):
        load_schema("../../etc/passwd")


def test_schemas_ship_in_the_wheel() -> None:
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    # hatchling packages every file under src/spec_kitty; the schemas must not be excluded.
    assert 'packages = ["src/spec_kitty"' in pyproject
    assert "exclude" not in pyproject.split("[tool.hatch.build.targets.wheel]")[1].split("[")[0]
    schema_dir = Path(__file__).parents[1] / "src" / "spec_kitty" / "core" / "schemas"
    assert {p.name for p in schema_dir.glob("*.schema.json")} == {
        f"{name}.schema.json" for name in schema_names()}
