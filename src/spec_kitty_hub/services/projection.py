"""The board projection: fold newly stored events into missions and work-package cards.

Called by :mod:`spec_kitty_hub.services.ingest` inside the transaction that inserted
the events, with every touched mission row locked, so concurrent workers never
interleave their updates of one board.

Rules (the CLI's reducer, ``spec_kitty.core.reducer``, folds a log the same way):

- a card's lane is the ``to_lane`` of its latest WPStatusChanged in replay order
  ``(timestamp, event_id)``, whatever order the events arrive in; lanes are
  normalised by ``spec_kitty.core.lanes.parse_lane`` (``doing`` → ``in_progress``);
- a forced transition adds one to the card's ``force_count`` (arrival order does not
  matter for a count);
- WPCreated adds a card not yet in any lane (``uninitialized``) and its title;
- MissionCreated names the mission; MissionAccepted / MissionMerged set its state
  (merged wins over accepted);
- ``missions.lane_counts`` is recounted from the cards after the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spec_kitty.core.lanes import Lane, parse_lane
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


class BoardUpdate:
    """The cards of the missions one batch touches, loaded once, updated in memory."""

    def __init__(self, session: Session, missions: Mapping[int, Mission]) -> None:
        self.session = session
        self.missions = missions
        self.cards: dict[tuple[int, str], WorkPackageState] = {}
        self.touched: set[int] = set()
        if missions:
            rows = session.scalars(select(WorkPackageState).where(
                WorkPackageState.mission_id.in_(list(missions))))
            self.cards = {(card.mission_id, card.wp_id): card for card in rows}

    def _card(self, mission_id: int, wp_id: str, lane: str) -> WorkPackageState:
        card = self.cards.get((mission_id, wp_id))
        if card is None:
            card = WorkPackageState(mission_id=mission_id, wp_id=wp_id, lane=lane,
                                    force_count=0)
            self.session.add(card)
            self.cards[(mission_id, wp_id)] = card
        return card

    def apply(self, mission_id: int, envelope: Envelope) -> None:
        """Fold one newly stored event of ``mission_id`` into its mission and board."""
        mission = self.missions[mission_id]
        payload = envelope.payload
        mission.mission_id = mission.mission_id or _text(payload.get("mission_id"), 64)
        mission.updated_at = utcnow()
        if envelope.event_type == WP_STATUS_CHANGED:
            self._transition(mission, envelope)
        elif envelope.event_type == "WPCreated":
            wp_id = _text(payload.get("wp_id"), 64)
            if wp_id is not None:
                card = self._card(mission_id, wp_id, Lane.UNINITIALIZED.value)
                card.title = _text(payload.get("wp_title"), 300) or card.title
                self.touched.add(mission_id)
        elif envelope.event_type == "MissionCreated":
            mission.friendly_name = _text(payload.get("friendly_name"), 300) \
                or mission.friendly_name
            mission.mission_type = _text(payload.get("mission_type"), 64) \
                or mission.mission_type
        elif envelope.event_type in _STATE_OF:
            state = _STATE_OF[envelope.event_type]
            if _STATE_RANK[state] > _STATE_RANK.get(mission.state, 0):
                mission.state = state

    def _transition(self, mission: Mission, envelope: Envelope) -> None:
        payload = envelope.payload
        wp_id = str(payload["wp_id"])[:64]
        lane = parse_lane(payload["to_lane"]).value  # checked by services.envelopes
        key = envelope.replay_key
        card = self._card(mission.id, wp_id, lane)
        if card.last_event_id is None or _newer(key, card.last_changed_at, card.last_event_id):
            card.lane = lane
            card.actor = orjson.dumps(payload.get("actor")).decode()
            reason = payload.get("reason")
            card.reason = reason.replace("\x00", "") if isinstance(reason, str) else None
            card.last_changed_at, card.last_event_id = key
        if payload.get("force") is True:
            card.force_count += 1
        mission.event_count += 1
        if _newer(key, mission.last_event_at, mission.last_event_id):
            mission.last_event_at, mission.last_event_id = key
        self.touched.add(mission.id)

    def recount(self) -> None:
        """Store each touched mission's ``{lane: n}`` counted from its cards."""
        if not self.touched:
            return
        self.session.flush()
        counts: dict[int, dict[str, int]] = {mission_id: {} for mission_id in self.touched}
        rows = self.session.execute(
            select(WorkPackageState.mission_id, WorkPackageState.lane, func.count())
            .where(WorkPackageState.mission_id.in_(sorted(self.touched)))
            .group_by(WorkPackageState.mission_id, WorkPackageState.lane))
        for mission_id, lane, count in rows:
            counts[mission_id][lane] = int(count)
        for mission_id, by_lane in counts.items():
            self.missions[mission_id].lane_counts = orjson.dumps(
                by_lane, option=orjson.OPT_SORT_KEYS).decode()


def apply_events(session: Session, missions: Mapping[int, Mission],
                 stored: Iterable[tuple[int | None, Envelope]]) -> None:
    """Fold ``stored`` (``(mission id or None, envelope)`` of newly inserted events)
    into the board, in replay order."""
    update = BoardUpdate(session, missions)
    ordered: Sequence[tuple[int | None, Envelope]] = sorted(
        stored, key=lambda item: item[1].replay_key)
    for mission_id, envelope in ordered:
        if mission_id is not None:
            update.apply(mission_id, envelope)
    update.recount()
