"""What every tracker command checks before it does anything, and the hub client it uses.

Hub-backed commands first run the hosted readiness evaluator (login, hub URL, and for
commands that need one a binding) and stop with exit 1 naming the first missing
prerequisite, then take the two-channel egress verdict (:mod:`.consent`), all before
any HTTP call. Local providers need only the rollout gate here; their syncs take the
egress verdict before any subprocess (``LocalTrackerService``).
"""

from __future__ import annotations

from pathlib import Path

from spec_kitty.tracker.config import TrackerBinding
from spec_kitty.tracker.hub.service import HubTrackerClient
from spec_kitty.tracker.providers import ProviderClass, provider_class


def require_ready(root: Path, provider: str | None, *, needs_binding: bool) -> None:
    """Raise :class:`~spec_kitty.hosted.readiness.NotReady` unless a hub-backed
    ``provider`` can be used here (local providers and ``None`` pass through)."""
    from spec_kitty.hosted.gate import require_enabled

    require_enabled()
    if provider is None or provider_class(provider) is not ProviderClass.HUB:
        return
    from spec_kitty.hosted.readiness import evaluate_readiness

    evaluate_readiness(repo_root=root, require_mission_binding=needs_binding
                       ).raise_unless_ready()
    from spec_kitty.tracker.config import load_binding
    from spec_kitty.tracker.consent import GUIDANCE, evaluate_egress
    from spec_kitty.tracker.errors import EgressRefused

    verdict = evaluate_egress(root, load_binding(root))
    if not verdict.allowed:
        raise EgressRefused(f"Tracker requests to the hub refused: {verdict.reason}. "
                            f"{GUIDANCE} (`spec-kitty tracker bind --egress permitted` "
                            "records it.)", verdict.channel)


def hub_client(_binding: TrackerBinding | None = None) -> HubTrackerClient:
    """The hub tracker client of the logged-in session (the façade's client factory)."""
    from spec_kitty.tracker.hub.client import client_from_session

    return client_from_session()
