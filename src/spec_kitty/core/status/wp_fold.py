"""Per-work-package fold state: what the reducer keeps for one WP, and nothing more.

A WP's snapshot entry is its *transition state* (lane, actor, timestamps, force
count, claim sidecar, review result, cancellation reason) with the *annotation
overlay* applied on top, because annotations are folded after every transition.
Keeping the two apart makes folding incremental: a new transition updates the
transition state, a new annotation updates the overlay, and
:meth:`WorkPackageFold.state` composes them in O(fields).

Both halves require rows in ``(at, event_id)`` order. A row that does not sort after
the last one folded for this WP marks the fold ``disordered``; the caller then
refolds the WP from its rows in order (see :func:`spec_kitty.core.status.reducer.finish`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spec_kitty.core.status.lanes import Lane

# Annotation fields that simply replace the slot (blank strings are ignored).
SCALAR_SLOTS = (
    "shell_pid",
    "shell_pid_created_at",
    "agent",
    "assignee",
    "role",
    "agent_profile",
    "agent_profile_version",
    "model",
    "provider",
)
CLAIM_SLOTS = ("shell_pid", "shell_pid_created_at", "agent")

_IN_PROGRESS, _IN_REVIEW, _FOR_REVIEW = (
    Lane.IN_PROGRESS.value, Lane.IN_REVIEW.value, Lane.FOR_REVIEW.value)
_PLANNED, _CLAIMED, _CANCELED = Lane.PLANNED.value, Lane.CLAIMED.value, Lane.CANCELED.value
_UNINITIALIZED = Lane.UNINITIALIZED.value


def actor_label(actor: Any) -> Any:
    """Dict actors are shown by their tool, else their role; strings stay as they are."""
    if isinstance(actor, dict):
        return actor.get("tool") or actor.get("role")
    return actor


class WorkPackageFold:
    """The fold of one WP's transitions and annotations (JSON-serialisable)."""

    __slots__ = ("t", "tkey", "rollback", "last_row", "slots", "akey", "first_actor", "disordered")

    def __init__(self) -> None:
        self.t: dict[str, Any] | None = None  # transition state, None until the first one
        self.tkey: tuple[str, str] | None = None  # (at, event_id) of the last transition seen
        self.rollback = False  # the last applied transition was a review rollback
        # The transition that set the lane (kept whole: cheaper than copying per row).
        self.last_row: Mapping[str, Any] | None = None
        self.slots: dict[str, Any] = {}  # annotation overlay: slot -> value
        self.akey: tuple[str, str] | None = None
        self.first_actor: Any = None  # actor of the first annotation (uninitialized WPs)
        self.disordered = False

    def add_transition(self, row: Mapping[str, Any], at: str, event_id: str) -> None:
        """Fold a transition (``at``/``event_id`` are the row's, passed to save lookups)."""
        tkey = self.tkey
        if tkey is not None and (at < tkey[0] or (at == tkey[0] and event_id <= tkey[1])):
            self.disordered = True
            return
        self.tkey = (at, event_id)
        to_lane, from_lane = row["to_lane"], row["from_lane"]
        rollback = to_lane == _IN_PROGRESS and (
            from_lane == _IN_REVIEW
            or (from_lane == _FOR_REVIEW and row.get("review_ref") is not None))
        t = self.t
        if t is None:
            t = self.t = {"force_count": 0}
        elif self.rollback and not rollback and t["last_transition_at"] == at:
            return  # a review rollback beats a forward move stamped with the same instant
        t["lane"] = to_lane
        actor = row.get("actor")
        t["actor"] = actor_label(actor) if isinstance(actor, dict) else actor
        t["last_transition_at"] = at
        t["last_event_id"] = event_id
        self.last_row = row
        if row.get("force"):
            t["force_count"] += 1
        if from_lane == _PLANNED and to_lane == _CLAIMED:
            meta = row.get("policy_metadata")
            if isinstance(meta, dict):
                for slot in CLAIM_SLOTS:
                    if meta.get(slot) is not None:
                        t[slot] = meta[slot]
        review_result = row.get("review_result")
        if review_result is not None or from_lane == _IN_REVIEW:
            t["review_result"] = review_result
        if to_lane == _CANCELED:
            reason = row.get("reason")
            t["cancellation_reason"] = reason
            given = isinstance(reason, str) and reason.strip()
            t["reason_source"] = "operator" if given else "synthetic"
        elif "reason_source" in t:
            del t["cancellation_reason"], t["reason_source"]
        self.rollback = rollback

    @property
    def last(self) -> dict[str, Any] | None:
        """``{reason, actor, at}`` of the transition that put the WP in its lane, or None."""
        row = self.last_row
        if row is None:
            return None
        return {"reason": row.get("reason"), "actor": row.get("actor"), "at": row["at"]}

    def add_annotation(self, row: Mapping[str, Any]) -> None:
        key = (row["at"], row["event_id"])
        if self.akey is not None and key <= self.akey:
            self.disordered = True
            return
        if self.akey is None:
            self.first_actor = actor_label(row.get("actor"))
        self.akey = key
        self._apply_delta(row["delta"])

    def _apply_delta(self, delta: Mapping[str, Any]) -> None:
        slots = self.slots
        if delta.get("release_runtime_claim"):
            # Released before the delta's own fields apply; the slots read null.
            for slot in CLAIM_SLOTS:
                slots[slot] = None
        for slot in SCALAR_SLOTS:
            value = delta.get(slot)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            slots[slot] = value
        subtasks = delta.get("subtasks")
        if isinstance(subtasks, Mapping):
            merged = dict(slots.get("subtasks") or {})
            merged.update({str(k): str(v) for k, v in subtasks.items()})
            slots["subtasks"] = merged
        note = delta.get("note")
        if isinstance(note, str) and note.strip():
            slots["notes"] = [*slots.get("notes", []), note]
        replace = delta.get("tracker_refs_replace")
        refs = delta.get("tracker_refs")
        if isinstance(replace, list):
            slots["tracker_refs"] = list(dict.fromkeys(replace))
        elif isinstance(refs, list):
            slots["tracker_refs"] = list(dict.fromkeys([*slots.get("tracker_refs", []), *refs]))
        review = delta.get("review")
        if isinstance(review, Mapping):
            # An all-empty review clears the slot to null (Spec Kitty writes "review": null).
            filled = any(v not in (None, "") for v in review.values())
            slots["review"] = dict(review) if filled else None

    def state(self) -> dict[str, Any]:
        """The WP's snapshot entry, keys sorted (a fresh dict the caller may keep)."""
        if self.t is not None:
            state = dict(self.t)
        else:
            state = {"lane": _UNINITIALIZED, "actor": self.first_actor,
                     "last_transition_at": None, "last_event_id": None, "force_count": 0}
        state.update(self.slots)
        return {key: state[key] for key in sorted(state)}

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "tk": self.tkey, "rb": self.rollback, "l": self.last,
                "s": self.slots, "ak": self.akey, "fa": self.first_actor}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkPackageFold:
        fold = cls()
        fold.t = data["t"]
        fold.tkey = tuple(data["tk"]) if data["tk"] else None  # type: ignore[assignment]
        fold.rollback = bool(data["rb"])
        fold.last_row = data["l"]
        fold.slots = data["s"]
        fold.akey = tuple(data["ak"]) if data["ak"] else None  # type: ignore[assignment]
        fold.first_actor = data["fa"]
        return fold


_TERMINAL_RETRO = frozenset({"completed", "skipped", "failed"})


class RetrospectiveFold:
    """The ``retrospective`` summary Spec Kitty adds when ``retrospective.*`` rows exist.

    Status is the latest (by ``at``, then ``event_id``) completed/skipped/failed event,
    else ``pending``; ``record_path`` comes from that event's payload; proposal counts
    are tallied from ``retrospective.proposal.{generated,applied,rejected}``.
    """

    __slots__ = ("generated", "applied", "rejected", "terminal")

    def __init__(self) -> None:
        self.generated = self.applied = self.rejected = 0
        self.terminal: list[Any] | None = None  # [at, event_id, status, record_path]

    def add(self, row: Mapping[str, Any]) -> None:
        name = row["event_name"][len("retrospective."):]
        if name.startswith("proposal."):
            what = name[len("proposal."):]
            if what == "generated":
                self.generated += 1
            elif what == "applied":
                self.applied += 1
            elif what == "rejected":
                self.rejected += 1
            return
        if name not in _TERMINAL_RETRO:
            return
        at, event_id = row.get("at"), row.get("event_id")
        key = [at if isinstance(at, str) else "", event_id if isinstance(event_id, str) else ""]
        if self.terminal is None or key > self.terminal[:2]:
            payload = row.get("payload")
            path = payload.get("record_path") if isinstance(payload, dict) else None
            self.terminal = [*key, name, None if path is None else str(path)]

    def summary(self) -> dict[str, Any]:
        return {
            "mode": None,
            "proposals_applied": self.applied,
            "proposals_pending": max(0, self.generated - self.applied - self.rejected),
            "proposals_rejected": self.rejected,
            "proposals_total": self.generated,
            "record_path": self.terminal[3] if self.terminal else None,
            "status": self.terminal[2] if self.terminal else "pending",
        }

    def to_json(self) -> list[Any]:
        return [self.generated, self.applied, self.rejected, self.terminal]

    @classmethod
    def from_json(cls, data: list[Any]) -> RetrospectiveFold:
        fold = cls()
        fold.generated, fold.applied, fold.rejected, fold.terminal = data
        return fold
