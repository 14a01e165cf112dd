"""``spec-kitty merge``."""

from __future__ import annotations

from typing import Any

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import console, emit_json

STRATEGIES = ("merge", "squash", "rebase")

app = command_app()


def _human_progress() -> tuple[Any, Any]:
    from rich.progress import BarColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                   "{task.total} lanes"), console=console(), transient=True)
    task: dict[str, Any] = {"id": None}

    def report(event: str, info: dict[str, Any]) -> None:
        if event == "lane":
            if task["id"] is None:
                task["id"] = bar.add_task("merging lanes", total=info["total"])
            bar.update(task["id"], completed=info["index"],
                       description=f"merging {info['lane_id']}")
        elif event == "phase" and task["id"] is not None and info["phase"] != "lanes":
            bar.update(task["id"], completed=bar.tasks[0].total, description="lanes merged")

    return bar, report


def _render(result: dict[str, Any]) -> None:
    from rich.markup import escape

    out = console()
    if result.get("already_merged"):
        out.print(escape(result["message"]))
        return
    if result.get("result") == "aborted":
        out.print(f"Merge of {result['mission_slug']} aborted; {result['target_branch']} "
                  + ("restored." if result["target_restored"] else "was not touched."))
        return
    out.print(f"[bold green]Merged[/bold green] {result['mission_slug']} into "
              f"{result['target_branch']} ({result['strategy']}): "
              f"{', '.join(result['merged_lanes']) or 'nothing new'}")
    if result.get("done_wps"):
        out.print(f"done: {', '.join(result['done_wps'])}")
    for kept in result.get("kept_worktrees", []):
        out.print(f"[yellow]kept[/yellow] {escape(kept['path'])}: {escape(kept['reason'])}")
    if "pushed" in result:
        out.print("pushed" if result["pushed"] else f"push failed: {result['push_output']}")


@app.command("merge", epilog=options.examples(
    "spec-kitty merge --mission todo-app --dry-run   # forecast lanes and overlaps",
    "spec-kitty merge --mission todo-app             # lanes → mission branch → target",
    "spec-kitty merge --mission todo-app --resume    # continue after fixing a conflict"))
def merge(
    mission: str = options.MISSION,
    strategy: str = typer.Option(None, "--strategy", click_type=options.choice(STRATEGIES),
                                 help="How the mission branch lands on its target (default: "
                                 "merge.strategy in config, else merge)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Forecast only; change nothing."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted merge."),
    abort: bool = typer.Option(False, "--abort", help="Undo an interrupted merge."),
    push: bool = typer.Option(False, "--push", help="Push the target branch afterwards."),
    allow_uncommitted: bool = typer.Option(
        False, "--allow-uncommitted",
        help="Merge even though a lane worktree has uncommitted changes (they stay behind)."),
    allow_unowned: bool = typer.Option(
        False, "--allow-unowned",
        help="Merge lane commits that touch files their work packages do not own."),
    json_out: bool = options.JSON,
) -> None:
    """Merge every lane into the mission branch, then the mission into its target branch."""
    from spec_kitty.core.errors import UsageError
    from spec_kitty.services.merge.preflight import Allowances, forecast, resolve_strategy
    from spec_kitty.services.project.context import open_mission

    if sum([dry_run, resume, abort]) > 1:
        raise UsageError("--dry-run, --resume and --abort are mutually exclusive")
    project, chosen = open_mission(mission)
    allow = Allowances(uncommitted=allow_uncommitted, unowned=allow_unowned)
    if dry_run:
        result = forecast(project, chosen, resolve_strategy(project, strategy), allow)
        if json_out:
            emit_json(result)
        elif result.get("already_merged"):
            console().print(result["message"])
        else:
            for lane in result["lanes"]:
                console().print(f"{lane['lane_id']}: {lane['commits_ahead']} commit(s), "
                                f"{len(lane['files_changed'])} file(s)")
            for overlap in result["overlaps"]:
                console().print(f"[yellow]overlap[/yellow] {overlap['file']}: "
                                f"{', '.join(overlap['lanes'])}")
            for problem in result["problems"]:
                console().print(f"[red]problem[/red] {problem}")
            for warning in result["warnings"]:
                console().print(f"[yellow]warning[/yellow] {warning}")
        return
    if abort:
        from spec_kitty.services.merge.abort import abort_merge

        result = abort_merge(project, chosen)
    else:
        from spec_kitty.services.merge.run import run_merge

        if json_out:
            result = run_merge(project, chosen, resolve_strategy(project, strategy), push,
                               resume, allow=allow)
        else:
            bar, report = _human_progress()
            with bar:
                result = run_merge(project, chosen, resolve_strategy(project, strategy), push,
                                   resume, report, allow=allow)
    if json_out:
        emit_json(result)
    else:
        _render(result)
