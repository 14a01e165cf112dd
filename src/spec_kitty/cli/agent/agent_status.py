"""``spec-kitty agent status``: validate and materialize event logs."""

from __future__ import annotations

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app(no_args_is_help=True,
                  help="Validate and materialize event logs.")


@app.command("validate", epilog=options.examples(
    "spec-kitty agent status validate --mission todo-app --json"))
def validate(
    mission: str = options.MISSION,
    json_out: bool = options.JSON,
) -> None:
    """Report problems in a mission's event log; exit 1 when there are errors."""
    from spec_kitty.services.project.context import open_mission
    from spec_kitty.services.status.status_validation import validate_mission_log

    _, chosen = open_mission(mission)
    report = validate_mission_log(chosen)
    if json_out:
        emit_json(report.to_json())
    else:
        from rich.markup import escape

        from spec_kitty.cli.output import console

        for finding in report.findings:
            where = f"{chosen.events_file.name}:{finding.line}" if finding.line else "status"
            colour = "red" if finding.severity == "error" else "yellow"
            console().print(f"[{colour}]{finding.severity}[/{colour}] {where} "
                            f"{finding.code}: {escape(finding.message)}")
        console().print(f"{chosen.slug}: {report.event_count} transitions, "
                        + ("log is valid." if report.ok else "log has errors."))
    if not report.ok:
        raise typer.Exit(1)


@app.command("materialize", epilog=options.examples(
    "spec-kitty agent status materialize --all --json"))
def materialize(
    mission: str = options.MISSION,
    all_missions: bool = typer.Option(False, "--all", help="Every mission in the project."),
    json_out: bool = options.JSON,
) -> None:
    """Rewrite status.json from the event log (only when its content changes)."""
    from spec_kitty.repo.missions import list_missions
    from spec_kitty.repo.status import event_log
    from spec_kitty.services.project.context import open_mission, open_project

    if all_missions:
        project = open_project()
        chosen = list_missions(project)
    else:
        project, one = open_mission(mission)
        chosen = [one]
    results = []
    for item in chosen:
        with event_log.status_lock(project, item):
            snapshot, changed = event_log.materialize(project, item)
        results.append({"mission_slug": item.slug, "changed": changed,
                        "event_count": snapshot["event_count"],
                        "status_path": str(item.snapshot_file)})
    if json_out:
        emit_json({"result": "success", "missions": results})
        return
    from spec_kitty.cli.output import console

    for row in results:
        verb = "rewrote" if row["changed"] else "unchanged"
        console().print(f"{row['mission_slug']}: status.json {verb} "
                        f"({row['event_count']} transitions)")
