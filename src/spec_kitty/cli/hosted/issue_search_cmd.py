"""``spec-kitty issue-search --provider P --query Q``: find a ticket through the hub."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app

app = command_app(help="Find a ticket in a hub-backed tracker.")


@app.command("issue-search", epilog=options.examples(
    'spec-kitty issue-search --provider github --query "#12"',
    'spec-kitty issue-search --provider jira --query "login timeout"',
))
def issue_search(provider: str = typer.Option(..., "--provider", help="A hub-backed provider."),
                 query: str = typer.Option(..., "--query", help="A key (ENG-12, #4) or text."),
                 limit: int = typer.Option(5, "--limit", min=1, max=100),
                 json_out: bool = options.JSON) -> None:
    """Candidates whose key equals, or whose text contains, the query."""
    from spec_kitty.cli.hosted.tracker_cmd import root, show
    from spec_kitty.tracker.origin import search_tickets

    payload = search_tickets(root(), provider, query, limit=limit)
    lines = [f"{c['key']:>10}  [{c['status']}] {c['title']}" for c in payload["candidates"]]
    show(payload, "\n".join(lines) or "No matching tickets.", json_out)
