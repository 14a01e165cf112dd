"""Boards for people, drawn from the board model (:mod:`spec_kitty.core.status.board`).

Rules that keep a board readable in an 80-column terminal:

- the mission slug is printed on its own line and never truncated (people copy it);
- words are never broken: a column is at least as wide as its longest word, and when
  the columns do not fit side by side the board is drawn as one list per column;
- empty columns are folded into a one-line note when the terminal is narrow;
- "weighted" is explained where it is shown.

The all-missions summary is plain aligned text (no table engine), so drawing 400
missions costs about what reading them does.
"""

from __future__ import annotations

import shutil
from typing import Any

from spec_kitty.cli.output import can_encode, console, emit_json, warn, write_text

STYLES = {"done": "green", "approved": "cyan", "blocked": "red", "canceled": "dim",
          "review": "yellow", "in_progress": "blue"}
LANE_WORDS = {"claimed": "claimed", "in_progress": "in progress", "for_review": "for review",
              "in_review": "in review"}
MAX_WORD = 24  # a longer "word" (a path, a URL) may wrap inside a card
NARROW = 120  # below this, empty columns are folded


def _bar(percentage: float, width: int = 24) -> str:
    full, empty = ("█", "░") if can_encode("█░") else ("#", ".")
    filled = round(width * percentage / 100)
    return full * filled + empty * (width - filled)


def _card_lines(card: dict[str, Any], grouped: bool) -> list[str]:
    lines = [f"{card['id']} {card['title']}"]
    details = []
    if grouped and card["lane"] in LANE_WORDS:
        details.append(LANE_WORDS[card["lane"]])
    who = card.get("agent") or (card.get("actor") if card["lane"] != "planned" else None)
    if who:
        details.append(str(who))
    if card["subtasks_total"]:
        details.append(f"{card['subtasks_done']}/{card['subtasks_total']} subtasks")
    if card["blocked_by"] and card["lane"] == "planned":
        details.append("waits for " + ", ".join(card["blocked_by"]))
    if details:
        lines.append(" · ".join(details))
    return lines


def _longest_word(texts: list[str]) -> int:
    return max((min(len(word), MAX_WORD) for text in texts for word in text.split()), default=1)


def _header(board: dict[str, Any]) -> None:
    from rich.markup import escape

    out = console()
    out.print(f"[bold]{escape(board['friendly_name'])}[/bold]")
    out.print(f"mission: {board['mission_slug']}", markup=False, soft_wrap=True)


def _visible_columns(board: dict[str, Any], width: int) -> tuple[list[dict[str, Any]],
                                                                  list[str]]:
    columns = board["columns"]
    if width >= NARROW:
        return [c for c in columns if c["count"] or c["key"] not in ("blocked", "canceled",
                                                                        "uninitialized")], []
    shown = [c for c in columns if c["count"]]
    return shown, [c["label"] for c in columns if not c["count"]]


def _table(board: dict[str, Any], columns: list[dict[str, Any]], width: int) -> Any | None:
    """A side-by-side table, or None when the columns cannot fit without breaking words."""
    from rich.markup import escape
    from rich.table import Table

    cards = {card["id"]: card for card in board["work_packages"]}
    texts = {c["key"]: ["\n".join(_card_lines(cards[i], len(c["lanes"]) > 1))
                        for i in c["wp_ids"]] for c in columns}
    minimum = {c["key"]: max(_longest_word([*texts[c["key"]], f"{c['label']} ({c['count']})"]),
                             6) for c in columns}
    room = width - 3 * len(columns) - 1  # each column: 2 padding + 1 border; 1 more border
    if sum(minimum.values()) > room:
        return None
    # Explicit widths: rich's ratio columns ignore min_width and would break a long word.
    spare, extra = divmod(room - sum(minimum.values()), len(columns))
    table = Table(show_lines=True, safe_box=True)
    for index, column in enumerate(columns):
        table.add_column(f"{column['label']} ({column['count']})",
                         width=minimum[column["key"]] + spare + (index < extra),
                         style=STYLES.get(column["key"]), overflow="fold")
    depth = max((len(texts[c["key"]]) for c in columns), default=0)
    for row in range(depth):
        table.add_row(*[escape(texts[c["key"]][row]) if row < len(texts[c["key"]]) else ""
                        for c in columns])
    return table


def _lists(board: dict[str, Any], columns: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    out = console()
    cards = {card["id"]: card for card in board["work_packages"]}
    for column in columns:
        style = STYLES.get(column["key"], "bold")
        out.print(f"[{style}]{column['label']} ({column['count']})[/{style}]")
        for wp_id in column["wp_ids"]:
            first, *rest = _card_lines(cards[wp_id], len(column["lanes"]) > 1)
            out.print(f"  {escape(first)}", soft_wrap=False)
            for line in rest:
                out.print(f"    [dim]{escape(line)}[/dim]", soft_wrap=False)


def render_board(board: dict[str, Any]) -> None:
    from rich.markup import escape

    out = console()
    width = out.width
    _header(board)
    columns, folded = _visible_columns(board, width)
    table = _table(board, columns, width) if columns else None
    if table is not None:
        out.print(table)
    elif columns:
        _lists(board, columns)
    else:
        out.print("No work packages yet.")
    if folded:
        out.print(f"[dim]Empty: {', '.join(folded)}[/dim]", soft_wrap=False)
    figures = board["progress"]
    pct = figures["progress_percentage"]
    out.print(f"Progress {_bar(pct)} {pct:.0f}% done, {figures['weighted_percentage']:.0f}% "
              f"weighted ({figures['done_wps']}/{figures['total_wps']} work packages, "
              f"{board['event_count']} events)", soft_wrap=False)
    out.print(f"[dim]{escape(figures['weighted_note'])}[/dim]", soft_wrap=False)
    pending = [c["id"] for c in board["work_packages"] if c["lane"] == "uninitialized"]
    if pending:
        out.print(f"[yellow]Not finalized yet:[/yellow] {', '.join(pending)} "
                  "(run finalize-tasks)", soft_wrap=False)
    # Warnings go to stderr (the board itself is stdout), wrapped by the terminal so a
    # path is never cut in two.
    for wp_id, why in board.get("blocked", {}).items():
        warn(f"{wp_id} is blocked ({why.get('actor')}): "
             f"{why.get('reason') or 'no reason given'}")
    for message in [*board.get("warnings", []), *board.get("problems", [])]:
        warn(message)


SHORT_LABELS = {"planned": "Plan", "in_progress": "Work", "review": "Revw",
                "approved": "Appr", "done": "Done", "blocked": "Blkd", "canceled": "Cncl"}


def _summary_columns(summary: dict[str, Any], width: int, slug_width: int,
                     ) -> tuple[list[tuple[str, str]], list[str]]:
    """(key, header) of the count columns to show, and the labels folded away."""
    from spec_kitty.core.status.board import COLUMNS

    readable = [r for r in summary["missions"] if "error" not in r]
    keep = [(key, label) for key, label, _ in COLUMNS
            if width >= NARROW or any(r["by_column"][key] for r in readable)]
    folded = [label for key, label, _ in COLUMNS if (key, label) not in keep]
    fixed = slug_width + len("  %done  %wtd")
    if fixed + sum(len(label) + 2 for _, label in keep) > width:
        keep = [(key, SHORT_LABELS[key]) for key, _ in keep]
    return keep, folded


def summary_text(summary: dict[str, Any], width: int) -> str:
    """The all-missions summary as aligned text lines (slugs are never cut)."""
    import textwrap

    rows = summary["missions"]
    if not rows:
        return summary.get("next_step", "No missions yet.") + "\n"
    slug_width = max(len("Mission"), *(len(r["mission_slug"]) for r in rows))
    counts, folded = _summary_columns(summary, width, slug_width)
    figures = len("  ".join([*(label for _, label in counts), "%done", "%wtd"]))
    # A slug longer than the room left beside the figures gets a line of its own, with its
    # figures on the next line: the slug stays whole and no row runs past the terminal.
    slug_width = min(slug_width, max(len("Mission"), width - figures - 2))
    head = ["Mission".ljust(slug_width), *(label for _, label in counts), "%done", "%wtd"]
    name_width = width - len("  ".join(head)) - 2
    lines = ["  ".join(head) + ("  Name" if name_width >= 8 else "")]
    for row in rows:
        slug = row["mission_slug"].ljust(slug_width)
        if len(slug) > slug_width and "error" not in row:
            lines.append(row["mission_slug"])
            slug = " " * slug_width
        if "error" in row:
            lines.append(f"{slug}  unreadable: {row['error']}")
            continue
        cells = [slug, *(str(row["by_column"][key]).rjust(len(label)) for key, label in counts),
                 f"{row['progress_percentage']:>5.0f}", f"{row['weighted_percentage']:>4.0f}"]
        line = "  ".join(cells)
        name = row.get("friendly_name") or ""
        if name_width >= 8 and name and name != row["mission_slug"]:
            line += "  " + (name if len(name) <= name_width else name[:name_width - 1] + "…")
        lines.append(line.rstrip())
    notes = [f"{len(rows)} mission(s)" + (f"; no work packages in: {', '.join(folded)}"
                                          if folded else "")]
    short = [f"{label} = {full}" for key, label in counts
             if (full := next(c[1] for c in _board_columns() if c[0] == key)) != label]
    if short:
        notes.append(", ".join(short))
    notes.append("%wtd = " + summary["weighted_note"])
    for note in notes:
        lines += textwrap.wrap(note, width=max(width, 40), break_long_words=False,
                               break_on_hyphens=False)
    return "\n".join(lines) + "\n"


def _board_columns() -> Any:
    from spec_kitty.core.status.board import COLUMNS

    return COLUMNS


def render_all(summary: dict[str, Any]) -> None:
    width = shutil.get_terminal_size((100, 24)).columns
    text = summary_text(summary, width)
    write_text(text if can_encode(text) else text.replace("…", "..."))


def show_board(board: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit_json(board)
    else:
        render_board(board)
