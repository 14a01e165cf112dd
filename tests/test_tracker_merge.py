"""Field ownership and newer_timestamp conflict resolution (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec_kitty.core.status.lanes import Lane
from spec_kitty.core.tracker.merge import (
    ConflictStrategy,
    FieldOwner,
    OwnershipMode,
    OwnershipPolicy,
    merge,
    push_patch,
)
from spec_kitty.core.tracker.models import (
    SYNCED_FIELDS,
    CanonicalIssue,
    CanonicalStatus,
    ExternalRef,
    parse_timestamp,
    status_for_lane,
)

REF = ExternalRef("beads", "ws", "bd-1")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def issue(title: str = "t", body: str = "b", status: str = "todo", at: datetime | None = T0, **kw) -> CanonicalIssue:
    return CanonicalIssue(REF, title=title, body=body, status=CanonicalStatus(status), updated_at=at, **kw)


def test_every_lane_maps_to_a_status() -> None:
    assert {lane: status_for_lane(lane) for lane in (Lane.PLANNED, Lane.FOR_REVIEW, Lane.APPROVED, Lane.DONE)} == {
        Lane.PLANNED: CanonicalStatus.TODO,
        Lane.FOR_REVIEW: CanonicalStatus.IN_REVIEW,
        Lane.APPROVED: CanonicalStatus.IN_REVIEW,
        Lane.DONE: CanonicalStatus.DONE,
    }
    for lane in Lane:
        assert isinstance(status_for_lane(lane), CanonicalStatus)


def test_external_authoritative_takes_every_external_value_silently() -> None:
    local, external = issue("mine", at=T0 + timedelta(hours=1)), issue("theirs", status="done")
    result = merge(local, external, OwnershipPolicy())
    assert result.merged.title == "theirs" and result.merged.status is CanonicalStatus.DONE
    assert result.conflicts == ()
    assert push_patch(result.merged, external, OwnershipPolicy()) == {}


def test_spec_kitty_authoritative_keeps_ours_and_pushes_it() -> None:
    policy = OwnershipPolicy(OwnershipMode.SPEC_KITTY_AUTHORITATIVE)
    local, external = issue("mine", status="in_progress"), issue("theirs", at=T0 + timedelta(days=1))
    result = merge(local, external, policy)
    assert result.merged.title == "mine" and result.conflicts == ()
    assert push_patch(result.merged, external, policy) == {"title": "mine", "status": CanonicalStatus.IN_PROGRESS}


@pytest.mark.parametrize(
    ("local_at", "external_at", "winner"),
    [
        (T0 + timedelta(minutes=5), T0, "mine"),
        (T0, T0 + timedelta(minutes=5), "theirs"),
        (T0, T0, "theirs"),  # ties go to the tracker
        (None, T0, "theirs"),  # our timestamp missing
        (T0, None, "mine"),
    ],
)
def test_shared_fields_resolve_by_newer_timestamp_with_a_record(local_at, external_at, winner) -> None:
    policy = OwnershipPolicy(OwnershipMode.SPLIT_OWNERSHIP, {"status": FieldOwner.EXTERNAL})
    result = merge(issue("mine", at=local_at), issue("theirs", status="done", at=external_at), policy)
    assert result.merged.title == winner
    assert result.merged.status is CanonicalStatus.DONE  # owned field: no conflict
    (record,) = result.conflicts
    assert record.to_dict() == {
        "identity": "beads:ws:bd-1",
        "field_name": "title",
        "local_value": "mine",
        "external_value": "theirs",
        "resolved_value": winner,
        "strategy": "newer_timestamp",
        "manual_review_required": False,
    }


def test_manual_review_keeps_ours_and_flags() -> None:
    policy = OwnershipPolicy(OwnershipMode.SPLIT_OWNERSHIP)
    result = merge(issue(labels=("a",)), issue(labels=("b",), at=T0 + timedelta(1)), policy, ConflictStrategy.MANUAL_REVIEW)
    assert result.merged.labels == ("a",)
    assert result.conflicts[0].manual_review_required is True
    assert result.conflicts[0].to_dict()["local_value"] == ["a"]


def test_parse_timestamp_accepts_provider_spellings() -> None:
    assert parse_timestamp("2024-03-01T10:00:00.000+0000") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_timestamp("2024-03-01T10:00:00Z") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_timestamp("2024-03-01T12:00:00+02:00") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_timestamp("yesterday") is None and parse_timestamp(None) is None


def test_issue_round_trips_through_json_shape() -> None:
    one = issue(labels=("x", "y"), assignees=("ann",), priority=2, parent="bd-0")
    assert CanonicalIssue.from_dict(one.to_dict()) == one
    with pytest.raises(ValueError, match="title"):
        issue(title="  ")
    with pytest.raises(ValueError, match="empty"):
        ExternalRef("beads", "", "1")


_titles = st.sampled_from(["a", "b", "c"])
_stamps = st.one_of(st.none(), st.integers(0, 3).map(lambda h: T0 + timedelta(hours=h)))
_owners = st.dictionaries(st.sampled_from(SYNCED_FIELDS), st.sampled_from(list(FieldOwner)), max_size=4)
_issues = st.builds(
    lambda t, b, s, at, labels: issue(t, b, s, at, labels=labels),
    _titles, _titles, st.sampled_from([s.value for s in CanonicalStatus]), _stamps,
    st.lists(_titles, max_size=2).map(tuple),
)


@given(local=_issues, external=_issues, mode=st.sampled_from(list(OwnershipMode)), owners=_owners)
def test_merge_laws(local, external, mode, owners) -> None:
    policy = OwnershipPolicy(mode, owners)
    result = merge(local, external, policy)
    for name in SYNCED_FIELDS:
        value = result.merged.field_value(name)
        assert value in (local.field_value(name), external.field_value(name))
        owner = policy.owner(name)
        if owner is FieldOwner.EXTERNAL:
            assert value == external.field_value(name)
        if owner is FieldOwner.LOCAL:
            assert value == local.field_value(name)
    conflicted = {c.field_name for c in result.conflicts}
    assert all(policy.owner(n) is FieldOwner.SHARED for n in conflicted)
    assert all(local.field_value(n) != external.field_value(n) for n in conflicted)
    # Merging again against the same external copy changes nothing and conflicts nowhere new.
    again = merge(result.merged, external, policy)
    assert again.merged.with_fields(updated_at=None) == result.merged.with_fields(updated_at=None)
    # After pushing the patch, the tracker's copy equals the merge on every field we may write.
    pushed = external.with_fields(**push_patch(result.merged, external, policy))
    for name in SYNCED_FIELDS:
        if policy.local_may_write(name):
            assert pushed.field_value(name) == result.merged.field_value(name)
