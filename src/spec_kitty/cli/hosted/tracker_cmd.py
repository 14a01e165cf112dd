"""``spec-kitty tracker …``: bind a repository to an issue tracker and sync with it.

A hosted group: registered (shown in help) only while the rollout gate is on. Each
command parses, runs the preflight (:mod:`spec_kitty.tracker.preflight`: readiness for
hub-backed providers), calls :class:`~spec_kitty.tracker.service.TrackerService` and
renders (the rules, e.g. what ``bind`` checks before it writes, live in the service).
``--json`` prints exactly one object. The sync and projection commands are in
:mod:`spec_kitty.cli.hosted.tracker_sync_cmd`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app(no_args_is_help=True, help="Bind this repository to an issue tracker.")
map_app = command_app(no_args_is_help=True, help="Work package ↔ issue mappings.")
app.add_typer(map_app, name="map")

PROVIDER = typer.Option(None, "--provider", help="linear, jira, github, gitlab, beads or fp.")


@app.callback()
def _tracker() -> None:
    """Bind this repository to an issue tracker and keep work packages in sync."""
    from spec_kitty.hosted.gate import require_enabled

    require_enabled()


def _register_sync() -> None:
    from spec_kitty.cli.hosted import tracker_sync_cmd

    app.add_typer(tracker_sync_cmd.sync_app, name="sync")
    epilog = options.examples("spec-kitty tracker project --mission user-login",
                              "spec-kitty tracker project --mission user-login --wp WP02")
    app.command("project", epilog=epilog)(tracker_sync_cmd.project)


def root() -> Path:
    from spec_kitty.repo.paths import find_project_root

    return find_project_root()


def service(project: Path) -> Any:
    from spec_kitty.tracker.preflight import hub_client
    from spec_kitty.tracker.service import TrackerService

    return TrackerService(project, hub_client_factory=hub_client)


def bound_provider(project: Path, *, needs_binding: bool = True) -> str:
    """The bound provider after the preflight; TRACKER_NOT_CONFIGURED when unbound."""
    from spec_kitty.tracker.config import load_binding
    from spec_kitty.tracker.errors import TrackerNotConfigured
    from spec_kitty.tracker.preflight import require_ready

    provider = load_binding(project).provider
    if provider is None:
        raise TrackerNotConfigured()
    require_ready(project, provider, needs_binding=needs_binding)
    return provider


def show(payload: dict[str, Any], text: str, as_json: bool) -> None:
    if as_json:
        emit_json(payload)
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")


def interactive(as_json: bool) -> bool:
    return not as_json and sys.stdin.isatty() and \
        os.environ.get("SPEC_KITTY_NON_INTERACTIVE") != "1"


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    from spec_kitty.core.errors import UsageError

    out: dict[str, str] = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} takes KEY=VALUE, got {value!r}")
        out[key.strip()] = rest.strip()
    return out


@app.command("providers", epilog=options.examples(
    "spec-kitty tracker providers --json",
))
def providers(json_out: bool = options.JSON) -> None:
    """The providers: hub-backed (through the team hub) and local (bd, fp)."""
    from spec_kitty.tracker.providers import providers_payload

    payload = providers_payload()
    show(payload, f"hub-backed: {', '.join(payload['saas'])}\nlocal: "
                  f"{', '.join(payload['local'])}", json_out)


@app.command("discover", epilog=options.examples(
    "spec-kitty tracker discover --provider github",
))
def discover(provider: str = typer.Option(..., "--provider", help="A hub-backed provider."),
             json_out: bool = options.JSON) -> None:
    """Resources the team hub can bind for a provider, numbered for `bind --select`."""
    from spec_kitty.tracker.errors import TrackerError
    from spec_kitty.tracker.hub import bind as hub_bind
    from spec_kitty.tracker.preflight import hub_client, require_ready
    from spec_kitty.tracker.providers import ProviderClass, normalize_provider, provider_class

    name = normalize_provider(provider)
    if provider_class(name) is not ProviderClass.HUB:
        raise TrackerError(f"{name} is a local provider; there is nothing to discover.",
                           "TRACKER_NOT_HUB")
    require_ready(root(), name, needs_binding=False)
    rows = hub_bind.discover(hub_client(), name)  # type: ignore[arg-type]
    lines = [f"{r['number']:>3}  {r['display_label']}" + ("  (bound)" if r["is_bound"] else "")
             for r in rows]
    show({"provider": name, "resources": rows}, "\n".join(lines) or "No resources.", json_out)


@app.command("bind", epilog=options.examples(
    "spec-kitty tracker bind --provider github --select 1 --egress permitted",
    "spec-kitty tracker bind --provider beads --workspace ~/work/app",
))
def bind(
    provider: str = typer.Option(..., "--provider", help="Provider to bind."),
    bind_ref: str | None = typer.Option(None, "--bind-ref", help="A binding_ref to reuse."),
    select: int | None = typer.Option(None, "--select", min=1,
                                      help="Resource number from `discover`."),
    workspace: str | None = typer.Option(None, "--workspace", help="Local providers."),
    doctrine_mode: str | None = typer.Option(
        None, "--doctrine-mode",
        help="external_authoritative, spec_kitty_authoritative or split_ownership."),
    field_owner: list[str] | None = typer.Option(None, "--field-owner", metavar="FIELD=OWNER",
                                                 help="external, local or shared (repeatable)."),
    credential: list[str] | None = typer.Option(None, "--credential", metavar="KEY=VALUE",
                                                help="Local providers: command, cwd."),
    egress: str | None = typer.Option(None, "--egress",
                                      help="Record tracker consent first: permitted or refused."),
    json_out: bool = options.JSON,
) -> None:
    """Bind this repository: hub-backed via resolve/confirm, local with --workspace."""
    from spec_kitty.tracker.errors import TrackerError
    from spec_kitty.tracker.providers import normalize_provider

    project = root()
    name = normalize_provider(provider)
    credentials = _pairs(credential, "--credential")
    owners = _pairs(field_owner, "--field-owner")

    def choose(candidates: list[dict[str, Any]]) -> int:
        if not interactive(json_out):
            raise TrackerError(
                "Several resources match; choose one with --select N (see `spec-kitty "
                f"tracker discover --provider {name}`).", "TRACKER_SELECT_REQUIRED",
                details={"candidates": candidates})
        for index, row in enumerate(candidates, start=1):
            sys.stderr.write(f"{index:>3}  {row.get('display_label')}\n")
        return int(typer.prompt(f"Select resource (1-{len(candidates)})", type=int, err=True))

    def confirm(question: str) -> bool:
        if not interactive(json_out):
            raise TrackerError("This repository is already bound; pass --bind-ref or "
                               "--select to replace the binding.", "TRACKER_ALREADY_BOUND")
        return bool(typer.confirm(question.replace(" (y/N)", ""), default=False, err=True))

    binding = service(project).bind(
        name, choose=choose, confirm=confirm, bind_ref=bind_ref, select=select,
        workspace=workspace, doctrine_mode=doctrine_mode, field_owners=owners,
        credentials=credentials, egress=egress)
    payload = binding.to_mapping()
    lines = ["Tracker binding saved", f"  provider: {binding.provider}"]
    lines += [f"  {key}: {payload[key]}" for key in ("binding_ref", "display_label", "workspace")
              if payload.get(key)]
    show({"result": "bound", "tracker": payload}, "\n".join(lines), json_out)


@app.command("unbind", epilog=options.examples(
    "spec-kitty tracker unbind",
))
def unbind(json_out: bool = options.JSON) -> None:
    """Remove the binding (a recorded egress decision stays)."""
    from spec_kitty.tracker.config import load_binding
    from spec_kitty.tracker.providers import LOCAL_PROVIDERS

    project = root()
    provider = load_binding(project).provider
    removed = service(project).unbind()
    if removed and provider in LOCAL_PROVIDERS:
        from spec_kitty.tracker.credentials import clear_tool_settings

        clear_tool_settings(provider)
    show({"result": "unbound" if removed else "not_bound"},
         "Tracker binding removed" if removed else "No tracker binding to remove", json_out)


@app.command("status", epilog=options.examples(
    "spec-kitty tracker status",
    "spec-kitty tracker status --all --json",
))
def status(all_bindings: bool = typer.Option(False, "--all", help="Team-wide (hub-backed)."),
           json_out: bool = options.JSON) -> None:
    """The binding and its sync state (hub-backed: as the hub sees it)."""
    from spec_kitty.tracker.config import load_binding
    from spec_kitty.tracker.errors import TrackerError
    from spec_kitty.tracker.providers import HUB_PROVIDERS

    project = root()
    if load_binding(project).provider is None:
        show({"configured": False, "provider": None}, "No tracker is bound.", json_out)
        return
    provider = bound_provider(project, needs_binding=not all_bindings)
    if all_bindings and provider not in HUB_PROVIDERS:
        raise TrackerError(f"--all (team-wide status) works with hub-backed providers; "
                           f"{provider} is local: run `spec-kitty tracker status`.",
                           "TRACKER_NOT_HUB")
    backend = service(project).backend()
    payload = backend.status(all_bindings=True) if all_bindings else backend.status()
    payload.setdefault("pending_binding_upgrade", None)
    lines = [f"{key}: {value}" for key, value in sorted(payload.items())]
    show(payload, "\n".join(lines), json_out)


@map_app.command("add", epilog=options.examples(
    "spec-kitty tracker map add --mission user-login --wp-id WP01 --external-id bd-12",
))
def map_add(mission: str = typer.Option(..., "--mission", "-m", help="Mission slug."),
            wp_id: str = typer.Option(..., "--wp-id", help="Work package id (WP01)."),
            external_id: str = typer.Option(..., "--external-id"),
            external_key: str | None = typer.Option(None, "--external-key"),
            external_url: str | None = typer.Option(None, "--external-url"),
            json_out: bool = options.JSON) -> None:
    """Map a work package to an issue (local providers only)."""
    from spec_kitty.services.status.transitions import normalize_wp_id

    project = root()
    service(project).check_map_add_request()
    bound_provider(project)
    payload = service(project).map_add(mission, normalize_wp_id(wp_id), external_id,
                                       external_key=external_key, external_url=external_url)
    show(payload, f"Mapped {mission}/{payload.get('wp_id')} to {external_id}", json_out)


@map_app.command("list", epilog=options.examples(
    "spec-kitty tracker map list --json",
))
def map_list(provider: str | None = PROVIDER, json_out: bool = options.JSON) -> None:
    """Work package ↔ issue mappings (``--provider`` reads the hub without a binding)."""
    project = root()
    if provider:
        from spec_kitty.tracker.preflight import hub_client, require_ready

        require_ready(project, provider, needs_binding=False)
        payload = hub_client().mappings(provider.strip().lower(), None)  # type: ignore[attr-defined]
        payload.setdefault("pending_binding_upgrade", None)
    else:
        bound_provider(project)
        payload = service(project).map_list()
    lines = [f"{m.get('mission_slug')}/{m.get('wp_id')} -> "
             f"{m.get('external_key') or m.get('external_id')}" for m in payload["mappings"]]
    show(payload, "\n".join(lines) or "No mappings.", json_out)


@app.command("list-tickets", epilog=options.examples(
    "spec-kitty tracker list-tickets --limit 10",
))
def list_tickets(limit: int = typer.Option(20, "--limit", min=1, max=100),
                 json_out: bool = options.JSON) -> None:
    """Tickets of the bound hub-backed tracker."""
    from spec_kitty.tracker.errors import TrackerError
    from spec_kitty.tracker.hub.service import HubTrackerService

    project = root()
    bound_provider(project)
    backend = service(project).backend()
    if not isinstance(backend, HubTrackerService):
        raise TrackerError("list-tickets works with hub-backed providers; for beads/fp run "
                           "`spec-kitty tracker sync pull`.", "TRACKER_NOT_HUB")
    payload = backend.list_tickets(limit)
    lines = [f"{t['key']:>10}  [{t['status']}] {t['title']}" for t in payload["tickets"]]
    show(payload, "\n".join(lines) or "No tickets.", json_out)


_register_sync()
