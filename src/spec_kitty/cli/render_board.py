"""Rich rendering of boards for people (the JSON forms come from services.board)."""

from __future__ import annotations

from typing import Any

from spec_kitty.cli.output import console

MAIN_COLUMNS = ("planned", "claimed", "in_progress", "for_review", "in_review", "approved",
                "done")
EXTRA_COLUMNS = ("blocked", "canceled")
TITLES = {
    "planned": "Planned", "claimed": "Claimed", "in_progress": "In Progress",
    "for_review": "For Review", "in_review": "In Review", "approved": "Approved",
    "done": "Done", "blocked": "Blocked", "canceled": "Canceled",
}
STYLES = {"done": "green", "approved": "cyan", "blocked": "red", "canceled": "dim",
          "for_review": "yellow", "in_review": "yellow", "in_progress": "blue",
          "claimed": "blue"}


def _bar(percentage: float, width: int = 30) -> str:
    filled = round(width * percentage / 100)
    return "█" * filled + "░" * (width - filled)


def _card_text(card: dict[str, Any]) -> str:
    from rich.markup import escape

    text = f"[bold]{card['id']}[/bold] {escape(card['title'])}"
    who = card.get("agent") or (card.get("actor") if card["lane"] != "planned" else None)
    if who:
        text += f"\n[dim]{escape(str(who))}[/dim]"
    if card["subtasks_total"]:
        text += f"\n[dim]{card['subtasks_done']}/{card['subtasks_total']} subtasks[/dim]"
    return text


def render_board(board: dict[str, Any]) -> None:
    from rich.table import Table

    cards = board["work_packages"]
    columns = list(MAIN_COLUMNS) + [c for c in EXTRA_COLUMNS if board["by_lane"].get(c)]
    table = Table(title=f"{board['friendly_name']} ({board['mission_slug']})",
                  show_lines=False, expand=True)
    for lane in columns:
        table.add_column(f"{TITLES[lane]} ({board['by_lane'].get(lane, 0)})",
                         style=STYLES.get(lane), overflow="fold", ratio=1)
    per_lane = {lane: [c for c in cards if c["lane"] == lane] for lane in columns}
    depth = max((len(v) for v in per_lane.values()), default=0)
    for row in range(depth):
        table.add_row(*[_card_text(per_lane[lane][row]) if row < len(per_lane[lane]) else ""
                        for lane in columns])
    out = console()
    out.print(table)
    pct = board["progress_percentage"]
    out.print(f"Progress {_bar(pct)} {pct:.0f}% done, {board['weighted_percentage']:.0f}% "
              f"weighted ({board['done_count']}/{board['total_wps']} work packages)")
    pending = [c["id"] for c in cards if c["lane"] == "uninitialized"]
    if pending:
        out.print(f"[yellow]Not finalized yet:[/yellow] {', '.join(pending)} "
                  "(run finalize-tasks)")
    for problem in board.get("problems", []):
        out.print(f"[yellow]warning:[/yellow] {problem}")


def render_all(summary: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{summary['count']} mission(s)", expand=True)
    table.add_column("Mission", overflow="fold")
    for lane in MAIN_COLUMNS + EXTRA_COLUMNS:
        table.add_column(TITLES[lane], justify="right")
    table.add_column("Progress", justify="right")
    for row in summary["missions"]:
        if "error" in row:
            table.add_row(row["mission_slug"],
                          f"[red]unreadable: {escape(row['error'])}[/red]",
                          *[""] * (len(MAIN_COLUMNS) + len(EXTRA_COLUMNS)))
            continue
        counts = row["by_lane"]
        table.add_row(row["mission_slug"],
                      *[str(counts.get(lane, 0)) for lane in MAIN_COLUMNS + EXTRA_COLUMNS],
                      f"{row['progress_percentage']:.0f}%")
    console().print(table)


def show_board(board: dict[str, Any], json_out: bool) -> None:
    if json_out:
        from spec_kitty.cli.output import emit_json

        emit_json(board)
    else:
        render_board(board)
