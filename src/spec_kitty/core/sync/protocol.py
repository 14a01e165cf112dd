"""The sync protocol version: which CLI a hub can serve (shared by the CLI and the hub).

The CLI sends ``X-Spec-Kitty-Sync-Protocol: <major>.<minor>`` on every event batch and
dossier upload. The published spec-kitty-cli sends ``2.0`` on dossier uploads (reference
§(c)) and the classic CLI sends nothing, so:

- a missing (or blank) header is accepted: the classic wire format is protocol 2;
- a major version the hub serves is accepted, whatever the minor (minor versions only
  add optional fields);
- an older major is ``client-too-old``, a newer one ``client-too-new``, text that is
  not ``<int>.<int>`` (or ``<int>``) ``client-protocol-unparseable``: the hub answers
  412 with :func:`refusal` as the body, and the CLI prints its guidance and stops the
  pass (events stay queued).
"""

from __future__ import annotations

from typing import Any

HEADER = "X-Spec-Kitty-Sync-Protocol"
CURRENT = "2.0"
SERVED_MAJORS = frozenset({2})
TOO_OLD, TOO_NEW, UNPARSEABLE = ("client-too-old", "client-too-new",
                                 "client-protocol-unparseable")


def parse(value: str) -> tuple[int, int] | None:
    """``(major, minor)`` of ``"2"``/``"2.0"``; ``None`` for anything else."""
    parts = value.strip().split(".")
    if not 1 <= len(parts) <= 2 or not all(
            p.isdigit() and p.isascii() and len(p) <= 6 for p in parts):
        return None  # (a 5,000-digit "version" would make int() raise)
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else 0


def verdict(header: str | None, served: frozenset[int] = SERVED_MAJORS) -> str | None:
    """``None`` when a hub serving ``served`` majors accepts ``header``, else the
    ``error_code`` of its 412 (see the module docstring)."""
    if header is None or not header.strip():
        return None
    version = parse(header)
    if version is None:
        return UNPARSEABLE
    if version[0] in served:
        return None
    return TOO_OLD if version[0] < min(served) else TOO_NEW


def refusal(code: str, sent: str, served: frozenset[int] = SERVED_MAJORS) -> dict[str, Any]:
    """The 412 body: ``error``, ``error_code`` and ``sync_protocol`` with the guidance."""
    majors = ", ".join(f"{major}.x" for major in sorted(served))
    guidance = {
        TOO_OLD: "Upgrade spec-kitty (`pip install --upgrade spec-kitty`), then run "
                 "`spec-kitty sync now` again; your events stay queued.",
        TOO_NEW: "This hub is older than your spec-kitty: ask the hub's admin to upgrade "
                 "it, or install a spec-kitty that speaks protocol " + majors + ".",
        UNPARSEABLE: f"Send {HEADER} as <major>.<minor> (this hub serves {majors}).",
    }[code]
    return {"error": f"Sync protocol {sent.strip()[:40]!r} is not served by this hub "
                     f"(it serves {majors}).",
            "error_code": code,
            "sync_protocol": {"sent": sent.strip()[:40], "served": sorted(served),
                              "current": CURRENT, "upgrade_guidance": guidance}}
