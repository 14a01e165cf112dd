"""``spec-kitty mission``: list missions and mission types."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import console, emit_json

app = command_app(no_args_is_help=True, help="List missions.")


@app.command("list", epilog=options.examples("spec-kitty mission list --json"))
def list_missions(json_out: bool = options.JSON) -> None:
    """Every mission in this project, with its documents and board counts."""
    from spec_kitty.services.planning.mission_list import mission_list
    from spec_kitty.services.project.context import open_project

    result = mission_list(open_project())
    if json_out:
        emit_json(result)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{result['count']} mission(s)")
    for column in ("Mission", "Type", "Name", "Documents", "WPs"):
        table.add_column(column)
    for m in result["missions"]:
        docs = " ".join(name.split(".")[0] for name, ok in m["artifacts"].items() if ok)
        table.add_row(m["mission_slug"], m.get("mission_type") or "-",
                      escape(m.get("friendly_name") or m.get("error", "")), docs,
                      str(m.get("wp_count", "-")))
    console().print(table)


@app.command("types", epilog=options.examples("spec-kitty mission types --json"))
def types(json_out: bool = options.JSON) -> None:
    """The mission types this version supports."""
    from spec_kitty.services.planning.mission_list import mission_types

    result = mission_types()
    if json_out:
        emit_json(result)
    else:
        for name in result["mission_types"]:
            console().print(name)


@app.command("create", epilog=options.examples(
    "spec-kitty mission create --from-ticket github:#12",
    "spec-kitty mission create --from-ticket jira:ENG-42 --json",
))
def create(from_ticket: str = typer.Option(..., "--from-ticket", metavar="PROVIDER:KEY",
                                           help="Start from a tracker ticket (github:#12)."),
           json_out: bool = options.JSON) -> None:
    """Fetch a ticket and write .kittify/ticket-context.md and pending-origin.yaml.

    The next `spec-kitty agent mission create` binds the ticket as the mission's origin.
    """
    from spec_kitty.hosted.gate import require_enabled
    from spec_kitty.services.project.context import open_project
    from spec_kitty.tracker.origin import fetch_ticket, write_ticket_context

    require_enabled()
    root = open_project().root
    provider, ticket, _ = fetch_ticket(root, from_ticket)
    written = write_ticket_context(root, provider, ticket)
    payload = {"result": "ticket_context_written", "provider": provider,
               "issue_key": ticket.get("key"), "title": ticket.get("title"),
               "files": [str(path) for path in written],
               "next_step": "Run /spec-kitty.specify (brief intake from the ticket), which "
                            "runs `spec-kitty agent mission create`."}
    if json_out:
        emit_json(payload)
        return
    console().print(f"Ticket {ticket.get('key')}: {ticket.get('title')}")
    for path in written:
        console().print(f"  wrote {path}")
    console().print(payload["next_step"])
