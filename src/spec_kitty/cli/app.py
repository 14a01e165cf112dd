"""The typer application and the single place where errors become output.

Exit codes: 0 success, 1 a failure the user can act on, 2 a usage error.
With ``--json`` anywhere on the command line, errors are one JSON object on stdout.
"""

from __future__ import annotations

import sys

import typer

from spec_kitty import __version__
from spec_kitty.cli.errors import internal_error, render_error
from spec_kitty.cli.lazy import Entry, LazyGroup

ROOT_COMMANDS: dict[str, Entry] = {
    "init": Entry("spec_kitty.cli.commands.init_cmd", "Set up spec-kitty in a repository."),
    "status": Entry("spec_kitty.cli.commands.status_cmd", "Kanban board of a mission (or --all)."),
    "mission": Entry(
        "spec_kitty.cli.commands.mission_cmd", "List missions; start one from a ticket."
    ),
    "next": Entry("spec_kitty.cli.commands.next_cmd", "What should this agent do next? (JSON)"),
    "implement": Entry(
        "spec_kitty.cli.agent.agent_action",
        "Claim a work package and open its worktree.",
        attr="implement_app",
    ),
    "accept": Entry(
        "spec_kitty.cli.commands.accept_cmd", "Check a mission is complete; record it."
    ),
    "merge": Entry("spec_kitty.cli.commands.merge_cmd", "Merge a mission's lanes into its target."),
    "dashboard": Entry(
        "spec_kitty.cli.commands.dashboard_cmd", "Live kanban of your missions in a browser."
    ),
    "verify-setup": Entry(
        "spec_kitty.cli.commands.verify_cmd", "Check tools, configuration and agent files."
    ),
    "intake": Entry(
        "spec_kitty.cli.commands.intake_cmd", "Bring a mission brief into the project."
    ),
    "charter": Entry("spec_kitty.cli.commands.charter_cmd", "Project governance for agents."),
    "agent": Entry("spec_kitty.cli.agent.agent", "Agent-facing commands (JSON in, JSON out)."),
    # Hosted groups: hidden and refusing while SPEC_KITTY_ENABLE_SAAS_SYNC is off.
    "auth": Entry(
        "spec_kitty.cli.hosted.auth_cmd",
        "Log in to a team hub and manage the session.",
        hosted=True,
    ),
    "tracker": Entry(
        "spec_kitty.cli.hosted.tracker_cmd",
        "Bind this repository to an issue tracker.",
        hosted=True,
    ),
    "issue-search": Entry(
        "spec_kitty.cli.hosted.issue_search_cmd", "Find a ticket in the bound tracker.", hosted=True
    ),
    "sync": Entry(
        "spec_kitty.cli.hosted.sync_cmd",
        "Deliver status events to the team hub.",
        hosted=True,
        off_ok=("now",),
    ),
    "merge-driver-event-log": Entry(
        "spec_kitty.cli.commands.merge_driver_cmd",
        "git merge driver for status event logs.",
        hidden=True,
    ),
    "merge-driver-status-json": Entry(
        "spec_kitty.cli.commands.merge_driver_cmd",
        "git merge driver for status.json.",
        hidden=True,
        attr="status_json_app",
    ),
}


class RootGroup(LazyGroup):
    registry = ROOT_COMMANDS


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"spec-kitty {__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=RootGroup,
    name="spec-kitty",
    help="Spec-driven development with AI coding agents.",
    no_args_is_help=True,
    # Inherited by every subcommand's context: -h works like --help everywhere.
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help="Print the version and exit.",
        is_eager=True,
        callback=_version_callback,
    ),
) -> None:
    """Spec-driven development with AI coding agents."""


def run(args: list[str]) -> int:
    from spec_kitty.cli.compat import Abort, ClickException, NoArgsIsHelpError, UsageError
    from spec_kitty.core.errors import SpecKittyError

    as_json = "--json" in args
    try:
        command = typer.main.get_command(app)
        result = command.main(args=args, prog_name="spec-kitty", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except SpecKittyError as exc:
        return render_error(exc, as_json)
    except NoArgsIsHelpError as exc:
        exc.show()
        return exc.exit_code
    except UsageError as exc:
        if as_json:
            from spec_kitty.cli.output import emit_json

            emit_json({"error": exc.format_message(), "error_code": "USAGE_ERROR"})
        else:
            exc.show()
        return 2
    except ClickException as exc:
        exc.show()
        return exc.exit_code
    except Abort:
        sys.stderr.write("Aborted.\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # last resort: never show a traceback to users
        return internal_error(exc, as_json)
