"""``spec-kitty tracker sync pull|push|run|publish`` (part of the ``tracker`` group)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.hosted.tracker_cmd import bound_provider, root, service, show
from spec_kitty.cli.lazy import command_app

sync_app = command_app(no_args_is_help=True, help="Pull, push or run a tracker sync.")
LIMIT = typer.Option(100, "--limit", min=1, max=10000, help="Issues per run (1-10000).")


def _summary(payload: dict[str, Any]) -> str:
    stats = payload.get("stats") or payload.get("summary") or {}
    parts = [f"{key} {value}" for key, value in stats.items()]
    return (payload.get("status") or "done") + (": " + ", ".join(parts) if parts else "")


def _read_items(source: str) -> list[dict[str, Any]]:
    from spec_kitty.core.errors import UsageError

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--items-json {source}: {exc.strerror}") from None
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--items-json {source}: line {exc.lineno}: {exc.msg}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UsageError(f"--items-json {source}: expected a JSON array of PushItems")
    return items


@sync_app.command("pull", epilog=options.examples(
    "spec-kitty tracker sync pull",
    "spec-kitty tracker sync pull --json",
))
def pull(limit: int = LIMIT, json_out: bool = options.JSON) -> None:
    """Bring issues from the tracker (local cache, or the hub's normalised page)."""
    project = root()
    bound_provider(project)
    payload = service(project).pull(limit)
    show(payload, _summary(payload), json_out)


@sync_app.command("push", epilog=options.examples(
    "spec-kitty tracker sync push",
))
def push(limit: int = LIMIT,
         items_json: str | None = typer.Option(None, "--items-json", metavar="FILE|-",
                                               help="PushItems (hub-backed providers)."),
         json_out: bool = options.JSON) -> None:
    """Send changes to the tracker (hub-backed: the given PushItems, as one operation)."""
    project = root()
    service(project).check_push_request(items_given=bool(items_json))
    bound_provider(project)
    items = _read_items(items_json) if items_json else None
    payload = service(project).push(limit, items=items)
    show(payload, _summary(payload), json_out)


@sync_app.command("run", epilog=options.examples(
    "spec-kitty tracker sync run --limit 50",
))
def run(limit: int = LIMIT, json_out: bool = options.JSON) -> None:
    """Pull, then push."""
    project = root()
    bound_provider(project)
    payload = service(project).run(limit)
    show(payload, _summary(payload), json_out)


@sync_app.command("publish", epilog=options.examples(
    "spec-kitty tracker sync publish",
))
def publish(json_out: bool = options.JSON) -> None:
    """Not supported (snapshot publish was removed): always fails with guidance."""
    from spec_kitty.tracker.config import load_binding
    from spec_kitty.tracker.errors import HardBreakError
    from spec_kitty.tracker.hub.service import PUBLISH_HUB
    from spec_kitty.tracker.local_service import PUBLISH_LOCAL
    from spec_kitty.tracker.providers import LOCAL_PROVIDERS

    provider = load_binding(root()).provider
    message = PUBLISH_LOCAL if provider in LOCAL_PROVIDERS else PUBLISH_HUB
    raise HardBreakError(message, "TRACKER_PUBLISH_UNSUPPORTED", provider=provider)


def project(mission: str = typer.Option(..., "--mission", "-m", help="Mission slug."),
            wp: list[str] | None = typer.Option(None, "--wp", help="Only these (repeatable)."),
            from_hook: bool = typer.Option(False, "--from-hook", hidden=True,
                                           help="Move existing tickets only (lane hook)."),
            json_out: bool = options.JSON) -> None:
    """Create or update one ticket per work package, with mission and lane labels."""
    from spec_kitty.services.project.context import open_mission
    from spec_kitty.services.status.transitions import normalize_wp_id
    from spec_kitty.services.tracker_projection import project_mission

    paths, chosen = open_mission(mission)
    bound_provider(paths.root)
    wp_ids = [normalize_wp_id(handle) for handle in wp or []]
    payload = project_mission(paths, chosen, wp_ids=wp_ids or None, only_mapped=from_hook)
    lines = [f"{item.get('wp_id') or (item.get('remote_ref') or {}).get('key')}: "
             f"{item.get('outcome')}" for item in payload.get("items", [])]
    show(payload, "\n".join(lines) or "Nothing to project.", json_out)
