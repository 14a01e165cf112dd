"""The two-channel egress verdict every tracker sync passes before it runs anything.

Channel 2 is the binding's own ``tracker.egress`` (``permitted`` or ``refused``); when
absent, Channel 1 decides: hosted-sync consent, ``sync.enabled: true`` in
``.kittify/config.yaml``. Neither present means refused; a malformed value (anything
but the two words, or a non-boolean ``sync.enabled``) is a fault and refuses. The
verdict is taken before any subprocess or HTTP call (Spec Kitty reference §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_kitty.tracker.config import EGRESS_VALUES, TrackerBinding, config_path

GUIDANCE = (
    "Record consent with `egress: permitted` under `tracker:` in .kittify/config.yaml, "
    "or opt in to hosted sync (`sync.enabled: true`)."
)


@dataclass(frozen=True)
class EgressVerdict:
    allowed: bool
    channel: str  # "tracker.egress", "sync.enabled" or "none"
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "channel": self.channel, "reason": self.reason}


def _sync_enabled(root: Path) -> Any:
    from spec_kitty.repo.yamlio import load_mapping

    path = config_path(root)
    if not path.exists():
        return None
    section = load_mapping(path).get("sync")
    return section.get("enabled") if isinstance(section, dict) else None


def evaluate_egress(root: Path, binding: TrackerBinding) -> EgressVerdict:
    egress = binding.egress
    if egress is not None:
        if egress not in EGRESS_VALUES:
            return EgressVerdict(
                False,
                "tracker.egress",
                f"tracker.egress is {egress!r}; expected permitted or refused",
            )
        if egress == "permitted":
            return EgressVerdict(True, "tracker.egress", "tracker.egress is permitted")
        return EgressVerdict(False, "tracker.egress", "tracker.egress is refused")
    enabled = _sync_enabled(root)
    if enabled is None:
        return EgressVerdict(False, "none", "no egress decision is recorded")
    if not isinstance(enabled, bool):
        return EgressVerdict(
            False, "sync.enabled", f"sync.enabled is {enabled!r}; expected true or false"
        )
    if enabled:
        return EgressVerdict(True, "sync.enabled", "hosted sync is enabled")
    return EgressVerdict(False, "sync.enabled", "hosted sync is disabled")
