"""The board projection: fold newly stored events into missions and work-package cards.

Called by :mod:`spec_kitty_hub.services.ingest` inside the transaction that inserted
the events, with every touched mission row locked, so concurrent workers never
interleave their updates of one board.

Rules (the CLI's reducer, ``spec_kitty.core.status.reducer``, folds a log the same way):

- a card's lane is the ``to_lane`` of its latest WPStatusChanged in replay order
  ``(timestamp, event_id)``, whatever order the events arrive in; lanes are
  normalised by ``spec_kitty.core.status.lanes.parse_lane`` (``doing`` → ``in_progress``);
- a forced transition adds one to the card's ``force_count`` (arrival order does not
  matter for a count);
- WPCreated adds a card not yet in any lane (``uninitialized``) and its title;
- MissionCreated names the mission; MissionAccepted / MissionMerged set its state
  (merged wins over accepted);
- ``missions.lane_counts`` is recounted from the cards after the batch.

Set-based: the cards of the batch's missions are read once as plain rows, the events
folded in memory, and only the cards that changed written back with one multi-row
upsert (``INSERT … ON CONFLICT (mission_id, wp_id) DO UPDATE``); each mission row is
written once. A batch of any size therefore costs a fixed number of statements instead
of work per event (the ORM's per-attribute bookkeeping dominated large batches).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from spec_kitty.core.status.lanes import Lane, parse_lane
from spec_kitty_hub.db.models import utcnow
from spec_kitty_hub.db.sync_models import Mission, WorkPackageState
from spec_kitty_hub.services.envelopes import WP_STATUS_CHANGED, Envelope

_STATE_RANK = {"active": 0, "accepted": 1, "merged": 2}
_STATE_OF = {"MissionAccepted": "accepted", "MissionMerged": "merged"}


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        return None
    return value.strip()[:limit]


def _newer(key: tuple[datetime, str], at: datetime | None, event_id: str | None) -> bool:
    return at is None or event_id is None or key > (at, event_id)


@dataclass(slots=True)
class Card:
    """One ``work_package_states`` row, as plain data."""

    mission_id: int
    wp_id: str
    lane: str
    title: str | None = None
    actor: str | None = None
    reason: str | None = None
    force_count: int = 0
    last_event_id: str | None = None
    last_changed_at: datetime | None = None


_CARD_FIELDS = [f.name for f in fields(Card)]


@dataclass(slots=True)
class MissionFold:
    """The columns of one mission row that events change, folded in memory."""

    mission_id: str | None
    friendly_name: str | None
    mission_type: str | None
    state: str
    event_count: int
    last_event_id: str | None
    last_event_at: datetime | None
    changed: bool = False

    @classmethod
    def of(cls, mission: Mission) -> MissionFold:
        return cls(mission.mission_id, mission.friendly_name, mission.mission_type,
                   mission.state, mission.event_count, mission.last_event_id,
                   mission.last_event_at)


class BoardUpdate:
    """The cards of the missions one batch touches, read once, folded in memory."""

    def __init__(self, session: Session, missions: Mapping[int, Mission]) -> None:
        self.session = session
        self.missions = missions
        self.folds = {mission_id: MissionFold.of(m) for mission_id, m in missions.items()}
        self.cards: dict[tuple[int, str], Card] = {}
        self.dirty: set[tuple[int, str]] = set()
        self.touched: set[int] = set()
        if missions:
            columns = [getattr(WorkPackageState, name) for name in _CARD_FIELDS]
            rows = session.execute(select(*columns).where(
                WorkPackageState.mission_id.in_(sorted(missions))))
            for row in rows:
                card = Card(*row)
                self.cards[(card.mission_id, card.wp_id)] = card

    def _card(self, mission_id: int, wp_id: str, lane: str) -> Card:
        key = (mission_id, wp_id)
        card = self.cards.get(key)
        if card is None:
            card = self.cards[key] = Card(mission_id, wp_id, lane)
        self.dirty.add(key)
        return card

    def apply(self, mission_id: int, envelope: Envelope) -> None:
        """Fold one newly stored event of ``mission_id`` into its mission and board."""
        fold = self.folds[mission_id]
        payload = envelope.payload
        fold.mission_id = fold.mission_id or _text(payload.get("mission_id"), 64)
        fold.changed = True
        if envelope.event_type == WP_STATUS_CHANGED:
            self._transition(mission_id, fold, envelope)
        elif envelope.event_type == "WPCreated":
            wp_id = _text(payload.get("wp_id"), 64)
            if wp_id is not None:
                card = self._card(mission_id, wp_id, Lane.UNINITIALIZED.value)
                card.title = _text(payload.get("wp_title"), 300) or card.title
                self.touched.add(mission_id)
        elif envelope.event_type == "MissionCreated":
            fold.friendly_name = _text(payload.get("friendly_name"), 300) \
                or fold.friendly_name
            fold.mission_type = _text(payload.get("mission_type"), 64) or fold.mission_type
        elif envelope.event_type in _STATE_OF:
            state = _STATE_OF[envelope.event_type]
            if _STATE_RANK[state] > _STATE_RANK.get(fold.state, 0):
                fold.state = state

    def _transition(self, mission_id: int, fold: MissionFold, envelope: Envelope) -> None:
        payload = envelope.payload
        wp_id = str(payload["wp_id"])[:64]
        lane = parse_lane(payload["to_lane"]).value  # checked by services.envelopes
        key = envelope.replay_key
        card = self._card(mission_id, wp_id, lane)
        if card.last_event_id is None or _newer(key, card.last_changed_at, card.last_event_id):
            card.lane = lane
            card.actor = orjson.dumps(payload.get("actor")).decode()
            reason = payload.get("reason")
            card.reason = reason.replace("\x00", "") if isinstance(reason, str) else None
            card.last_changed_at, card.last_event_id = key
        if payload.get("force") is True:
            card.force_count += 1
        fold.event_count += 1
        if _newer(key, fold.last_event_at, fold.last_event_id):
            fold.last_event_at, fold.last_event_id = key
        self.touched.add(mission_id)

    def write(self, insert: Callable[..., Any]) -> None:
        """Upsert the changed cards, then write each changed mission once (with its
        ``{lane: n}`` recounted from the cards when a card of it changed)."""
        if self.dirty:
            statement = insert(WorkPackageState)
            self.session.execute(statement.on_conflict_do_update(
                index_elements=["mission_id", "wp_id"],
                set_={name: statement.excluded[name] for name in _CARD_FIELDS[2:]}),
                [{name: getattr(self.cards[key], name) for name in _CARD_FIELDS}
                 for key in sorted(self.dirty)])
        counts: dict[int, dict[str, int]] = {mission_id: {} for mission_id in self.touched}
        for (mission_id, _wp), card in self.cards.items():
            if mission_id in counts:
                counts[mission_id][card.lane] = counts[mission_id].get(card.lane, 0) + 1
        now = utcnow()
        for mission_id, fold in self.folds.items():
            if not fold.changed:
                continue
            mission = self.missions[mission_id]
            mission.mission_id, mission.friendly_name = fold.mission_id, fold.friendly_name
            mission.mission_type, mission.state = fold.mission_type, fold.state
            mission.event_count = fold.event_count
            mission.last_event_id, mission.last_event_at = fold.last_event_id, fold.last_event_at
            mission.updated_at = now
            if mission_id in counts:
                mission.lane_counts = orjson.dumps(
                    counts[mission_id], option=orjson.OPT_SORT_KEYS).decode()


def apply_events(session: Session, missions: Mapping[int, Mission],
                 stored: Iterable[tuple[int | None, Envelope]],
                 insert: Callable[..., Any]) -> None:
    """Fold ``stored`` (``(mission id or None, envelope)`` of newly inserted events)
    into the board, in replay order. ``insert`` is the dialect's ``insert`` construct
    (it has ``on_conflict_do_update`` on PostgreSQL and SQLite)."""
    update = BoardUpdate(session, missions)
    for mission_id, envelope in sorted(stored, key=lambda item: item[1].replay_key):
        if mission_id is not None:
            update.apply(mission_id, envelope)
    update.write(insert)
