"""Work packages as tickets: what one WP's ticket says, and how it reaches the tracker.

A :class:`WorkPackageTicket` is built by ``services.tracker_projection`` from a
mission (title, a summary of the WP prompt, lane). Here it becomes:

* for a hub-backed binding, PushItems with ``work_package`` (the hub creates the issue
  on first sight and records the mapping; afterwards it updates that issue);
* for beads/fp, a create through the local connector plus a cache mapping, or an
  update of the mapped issue.

Labels: ``spec-kitty``, ``mission:<slug>`` and ``lane:<lane>`` (the other ``lane:``
labels are removed). Field ownership is respected on updates: a field the binding's
doctrine gives to the tracker (``external``) is never sent; with the default
``external_authoritative`` mode a projection therefore only creates missing tickets.
A new ticket is always created complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec_kitty.core.status.lanes import Lane
from spec_kitty.core.tracker.merge import OwnershipPolicy
from spec_kitty.core.tracker.models import CanonicalStatus, status_for_lane

BASE_LABEL = "spec-kitty"


@dataclass(frozen=True)
class WorkPackageTicket:
    mission_slug: str
    wp_id: str
    title: str
    body: str
    lane: Lane

    @property
    def status(self) -> CanonicalStatus:
        return status_for_lane(self.lane)

    @property
    def labels(self) -> tuple[str, ...]:
        return (BASE_LABEL, f"mission:{self.mission_slug}", f"lane:{self.lane.value}")

    @property
    def stale_labels(self) -> tuple[str, ...]:
        return tuple(f"lane:{lane.value}" for lane in Lane if lane is not self.lane)

    @property
    def ticket_title(self) -> str:
        return f"{self.wp_id}: {self.title}"


def hub_item(ticket: WorkPackageTicket, policy: OwnershipPolicy, *, mapped: bool
             ) -> dict[str, Any] | None:
    """The PushItem for one ticket, or None when an update has nothing we may write."""
    work_package = {"mission_slug": ticket.mission_slug, "wp_id": ticket.wp_id}
    if not mapped:
        return {"action": "create", "work_package": work_package,
                "patch": {"title": ticket.ticket_title, "body": ticket.body,
                          "labels": list(ticket.labels)},
                "target_status": ticket.status.value}
    patch: dict[str, Any] = {}
    if policy.local_may_write("title"):
        patch["title"] = ticket.ticket_title
    if policy.local_may_write("body"):
        patch["body"] = ticket.body
    if policy.local_may_write("labels"):
        patch["add_labels"] = list(ticket.labels)
        patch["remove_labels"] = list(ticket.stale_labels)
    item: dict[str, Any] = {"action": "update", "work_package": work_package, "patch": patch}
    if policy.local_may_write("status"):
        item["target_status"] = ticket.status.value
    return item if patch or "target_status" in item else None


def local_patch(ticket: WorkPackageTicket, policy: OwnershipPolicy,
                writable: frozenset[str], current_labels: tuple[str, ...]) -> dict[str, Any]:
    """Canonical field values for a local tool's update (owned and storable fields only)."""
    wanted: dict[str, Any] = {"title": ticket.ticket_title, "body": ticket.body,
                              "status": ticket.status}
    labels = [name for name in current_labels if name not in ticket.stale_labels]
    wanted["labels"] = tuple(labels + [n for n in ticket.labels if n not in labels])
    return {name: value for name, value in wanted.items()
            if name in writable and policy.local_may_write(name)}
