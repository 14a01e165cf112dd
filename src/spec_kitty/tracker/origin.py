"""Ticket lookup and ticket-first missions (Spec Kitty tracker reference §5).

:func:`search_tickets` backs ``spec-kitty issue-search``. :func:`fetch_ticket` and
:func:`write_ticket_context` back ``mission create --from-ticket provider:KEY``: the
ticket is found by issue-search (limit 5; the case-insensitive exact key match, else
the first hit) and written to two gitignored files, ``.kittify/ticket-context.md``
and ``.kittify/pending-origin.yaml``. :func:`bind_origin` then records the origin on
the hub first (``mission-origin/bind``) and only after that in ``meta.json``
(``origin_ticket``); a hub failure is returned, never raised, so creation goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spec_kitty.tracker.config import load_binding
from spec_kitty.tracker.errors import TrackerError
from spec_kitty.tracker.hub.service import Routing
from spec_kitty.tracker.providers import ProviderClass, normalize_provider, provider_class

RESOURCE_TYPES = {"linear": "linear_team", "jira": "jira_project", "github": "github_repo",
                  "gitlab": "gitlab_project"}
CONTEXT_FILE = "ticket-context.md"
PENDING_FILE = "pending-origin.yaml"


def _hub_provider(root: Path, provider: str) -> tuple[str, Routing | None]:
    from spec_kitty.tracker.preflight import require_ready

    name = normalize_provider(provider)
    if provider_class(name) is not ProviderClass.HUB:
        raise TrackerError(f"{name} is a local provider; issue search works with hub-backed "
                           "providers (linear, jira, github, gitlab).", "TRACKER_NOT_HUB")
    binding = load_binding(root)
    if binding.provider and binding.provider != name:
        raise TrackerError(f"This repository is bound to {binding.provider}, not {name}.",
                           "TRACKER_PROVIDER_MISMATCH")
    require_ready(root, name, needs_binding=False)
    routing = Routing.of(binding) if binding.provider == name and binding.is_configured \
        else None
    return name, routing


def search_tickets(root: Path, provider: str, query: str, *, limit: int = 5) -> dict[str, Any]:
    """``{candidates, resource_type, resource_id}`` from the hub's issue-search."""
    from spec_kitty.tracker.preflight import hub_client

    name, routing = _hub_provider(root, provider)
    text = query.strip()
    looks_like_key = " " not in text and any(ch.isdigit() for ch in text)
    client: Any = hub_client()
    return dict(client.issue_search(name, routing, query_key=text if looks_like_key else None,
                                    query_text=None if looks_like_key else text, limit=limit))


def fetch_ticket(root: Path, spec: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(provider, ticket, search answer) for ``provider:KEY``; TRACKER_TICKET_NOT_FOUND."""
    provider, sep, key = spec.partition(":")
    if not sep or not provider.strip() or not key.strip():
        raise TrackerError(f"--from-ticket takes provider:KEY (e.g. github:#12), got {spec!r}.",
                           "TRACKER_TICKET_SPEC_INVALID")
    answer = search_tickets(root, provider, key, limit=5)
    candidates = answer.get("candidates") or []
    wanted = key.strip().lower().lstrip("#")
    exact = [c for c in candidates
             if str(c.get("key") or "").lower().lstrip("#") == wanted
             or str(c.get("id") or "").lower() == wanted]
    if not candidates:
        raise TrackerError(f"No {provider} ticket matches {key!r}.", "TRACKER_TICKET_NOT_FOUND")
    return normalize_provider(provider), (exact or candidates)[0], answer


def write_ticket_context(root: Path, provider: str, ticket: dict[str, Any]) -> list[Path]:
    """Write ``.kittify/ticket-context.md`` and ``.kittify/pending-origin.yaml``."""
    from spec_kitty.repo.atomic import write_text_atomic
    from spec_kitty.repo.paths import KITTIFY
    from spec_kitty.repo.yamlio import dumps

    kittify = root / KITTIFY
    lines = [f"# {ticket.get('key')}: {ticket.get('title')}", "",
             f"Status: {ticket.get('status')}",
             f"Assignee: {', '.join(ticket.get('assignees') or []) or 'unassigned'}",
             f"URL: {ticket.get('url') or ''}"]
    if ticket.get("labels"):
        lines.append(f"Labels: {', '.join(ticket['labels'])}")
    lines += ["", str(ticket.get("body") or "").strip(), ""]
    context, pending = kittify / CONTEXT_FILE, kittify / PENDING_FILE
    write_text_atomic(context, "\n".join(lines))
    write_text_atomic(pending, dumps({
        "provider": provider, "issue_key": ticket.get("key"), "issue_id": ticket.get("id"),
        "title": ticket.get("title"), "body": ticket.get("body"), "url": ticket.get("url"),
        "status": ticket.get("status")}))
    _gitignore(root, [f"{KITTIFY}/{CONTEXT_FILE}", f"{KITTIFY}/{PENDING_FILE}"])
    return [context, pending]


def _gitignore(root: Path, entries: list[str]) -> None:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [entry for entry in entries if entry not in text.splitlines()]
    if missing:
        path.write_text(text + ("" if not text or text.endswith("\n") else "\n")
                        + "\n".join(missing) + "\n", encoding="utf-8")


def bind_origin(root: Path, mission_dir: Path, mission_id: str, mission_slug: str
                ) -> dict[str, Any] | None:
    """Consume ``pending-origin.yaml`` (if any): hub first, then ``meta.json``.

    Returns None without a pending origin, else ``{"origin_ticket": …}`` plus
    ``origin_binding_error`` when the hub refused or could not be reached.
    """
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.repo.paths import KITTIFY
    from spec_kitty.repo.yamlio import load_mapping

    pending_path = root / KITTIFY / PENDING_FILE
    if not pending_path.exists():
        return None
    pending = load_mapping(pending_path)
    provider = str(pending.get("provider"))
    outcome: dict[str, Any] = {}
    try:
        from spec_kitty.tracker.preflight import hub_client

        _, routing = _hub_provider(root, provider)
        client: Any = hub_client()
        client.mission_origin_bind(provider, routing, {
            "mission_id": mission_id, "mission_slug": mission_slug,
            "external_issue_id": str(pending.get("issue_id")),
            "external_issue_key": pending.get("issue_key"),
            "external_issue_url": pending.get("url"), "external_title": pending.get("title"),
            "external_status": pending.get("status")})
    except SpecKittyError as exc:
        outcome["origin_binding_error"] = {"error": exc.message, "error_code": exc.code}
        return outcome
    answer = search_resource(root, provider)
    origin = {"provider": provider, "resource_type": answer[0], "resource_id": answer[1],
              "external_issue_id": str(pending.get("issue_id")),
              "external_issue_key": pending.get("issue_key"),
              "external_issue_url": pending.get("url"), "title": pending.get("title")}
    _write_meta_origin(mission_dir, origin)
    pending_path.unlink(missing_ok=True)
    outcome["origin_ticket"] = origin
    return outcome


def search_resource(root: Path, provider: str) -> tuple[str, str]:
    """(resource_type, resource_id) of the bound resource, from the binding's context."""
    binding = load_binding(root)
    context = binding.provider_context if binding.provider == provider else {}
    return (context.get("resource_type") or RESOURCE_TYPES[provider],
            context.get("resource_id") or binding.display_label or "")


def _write_meta_origin(mission_dir: Path, origin: dict[str, Any]) -> None:
    import json

    from spec_kitty.repo.atomic import write_text_atomic

    meta_path = mission_dir / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["origin_ticket"] = origin
    write_text_atomic(meta_path, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
