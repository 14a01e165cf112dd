"""``spec-kitty agent mission``: create, spec-commit, setup-plan, finalize-tasks."""

from __future__ import annotations

from pathlib import Path

import typer

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import console, emit_json
from spec_kitty.repo.templates import MISSION_TYPES

app = command_app(no_args_is_help=True,
                  help="Create missions and pass the planning gates.")


def _show(result: dict, lines: list[str]) -> None:
    from rich.markup import escape

    for line in lines:
        console().print(escape(line))


@app.command("create", epilog=options.examples(
    'spec-kitty agent mission create user-login --friendly-name "User login" --json',
    "spec-kitty agent mission create docs-refresh --mission-type documentation --json"))
def create(
    slug: str = typer.Argument(..., help="Kebab-case name, e.g. user-login; the mission "
                               "directory becomes <slug>-<first 8 characters of its id>."),
    mission_type: str = typer.Option("software-dev", "--mission-type",
                                     click_type=options.choice(MISSION_TYPES),
                                     help="The kind of mission."),
    friendly_name: str = typer.Option(None, "--friendly-name", help="Human title."),
    purpose_tldr: str = typer.Option(None, "--purpose-tldr", help="One-line purpose."),
    purpose_context: str = typer.Option(None, "--purpose-context", help="Longer purpose."),
    target_branch: str = typer.Option(None, "--target-branch",
                                      help="Branch the work merges into (default: current)."),
    json_out: bool = options.JSON,
) -> None:
    """Create kitty-specs/<slug>-<id>/ with meta.json, spec.md and an empty status log."""
    from spec_kitty.services.planning.mission_create import CreateRequest, create_mission
    from spec_kitty.services.project.context import open_project

    request = CreateRequest(slug, mission_type, friendly_name, purpose_tldr, purpose_context,
                            target_branch)
    result = create_mission(open_project(), request, Path.cwd())
    if json_out:
        emit_json(result)
        return
    _show(result, [f"Created mission {result['mission_slug']} ({result['mission_type']})",
                   f"  spec: {result['spec_file']}", f"Next: {result['next_step']}"])


@app.command("spec-commit", epilog=options.examples(
    "spec-kitty agent mission spec-commit --mission user-login --json"))
def spec_commit(
    files: list[str] = typer.Argument(None, help="Mission files to commit "
                                      "(default: spec.md, meta.json, checklists)."),
    mission: str = options.MISSION,
    message: str = options.value_option(None, "--message", "-M", help="Commit message."),
    json_out: bool = options.JSON,
) -> None:
    """Commit exactly the named files of a mission."""
    from spec_kitty.services.planning.gates import spec_commit as run_commit
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(mission)
    result = run_commit(project, chosen, files or [], message, Path.cwd())
    if json_out:
        emit_json(result)
        return
    verb = f"Committed {result['commit_hash'][:10]}" if result["committed"] else "Nothing to commit"
    _show(result, [f"{verb}: {', '.join(result['files'])}"])


@app.command("setup-plan", epilog=options.examples(
    "spec-kitty agent mission setup-plan --mission user-login --json"))
def setup_plan(
    mission: str = options.MISSION,
    json_out: bool = options.JSON,
) -> None:
    """Gate and scaffold plan.md; commits it once its Technical Context is filled in.

    Exit 1 with result "blocked" while the spec is not committed and substantive, or the
    plan's Technical Context is incomplete.
    """
    from spec_kitty.services.planning.gates import setup_plan as run_setup
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(mission)
    result = run_setup(project, chosen, Path.cwd())
    if json_out:
        emit_json(result)
    else:
        lines = [f"setup-plan: {result['result']}"
                 + (" (plan.md scaffolded)" if result.get("scaffold_only") else "")]
        lines += [f"  - {item}" for item in result.get("missing", [])]
        if result.get("next_step"):
            lines.append(f"Next: {result['next_step']}")
        _show(result, lines)
    if result["result"] == "blocked":
        raise typer.Exit(1)


@app.command("finalize-tasks", epilog=options.examples(
    "spec-kitty agent mission finalize-tasks --mission user-login --validate-only --json",
    "spec-kitty agent mission finalize-tasks --mission user-login --json"))
def finalize_tasks(
    mission: str = options.MISSION,
    validate_only: bool = typer.Option(False, "--validate-only",
                                       help="Check everything, write nothing."),
    json_out: bool = options.JSON,
) -> None:
    """Validate tasks.md and the WP files, seed their status, compute lanes and commit."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.services.planning.finalize import finalize_tasks as run_finalize
    from spec_kitty.services.project.context import open_mission

    project, chosen = open_mission(mission)
    try:
        result = run_finalize(project, chosen, Path.cwd(), validate_only=validate_only)
    except SpecKittyError as exc:
        if json_out or exc.code != "FINALIZE_VALIDATION_FAILED":
            raise
        from rich.markup import escape

        from spec_kitty.cli.output import err_console

        for problem in exc.details["problems"]:
            err_console().print(f"[red]{problem['file']}:{problem['line']}[/red] "
                                f"{problem['code']}: {escape(problem['message'])}")
        for warning in exc.details.get("warnings", []):
            err_console().print(f"[yellow]{warning['file']}:{warning['line']}[/yellow] "
                                f"{warning['code']}: {escape(warning['message'])}")
        err_console().print(f"{len(exc.details['problems'])} problem(s); nothing was written.")
        raise typer.Exit(1) from None
    if json_out:
        emit_json(result)
        return
    lanes = result["lanes"]
    for warning in result.get("warnings", []):
        from spec_kitty.cli.output import warn

        warn(f"{warning['file']}:{warning['line']}: {warning['message']}")
    lines = [f"{result['result']}: {result['wp_count']} work packages in {lanes['count']} "
             f"lane(s): {', '.join(lanes['lane_ids']) or '-'}"]
    if result.get("commit_created"):
        lines.append(f"Committed {result['commit_hash'][:10]}")
    _show(result, lines)
