"""``spec-kitty sync daemon status|start|stop``: the background sync daemon by hand.

Parses, calls :mod:`spec_kitty.sync.daemon.control`, renders. Registered under the
``sync`` group (hosted: hidden and refused while the rollout gate is off).
"""

from __future__ import annotations

import sys
from typing import Any

from spec_kitty.cli import options
from spec_kitty.cli.lazy import command_app
from spec_kitty.cli.output import emit_json

app = command_app(no_args_is_help=True,
                  help="Show, start or stop the background sync daemon.")


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


@app.command("status", epilog=options.examples(
    "spec-kitty sync daemon status",
    "spec-kitty sync daemon status --json",
))
def status(json_out: bool = options.JSON) -> None:
    """Whether the daemon runs: pid, port, version, queue depth, last drain, policy."""
    from spec_kitty.sync.daemon.control import status as daemon_status

    report = daemon_status()
    if json_out:
        emit_json(report)
        return
    health: dict[str, Any] | None = report["health"]
    if report["running"] and health is not None:
        _out(f"Daemon:      running (pid {report['pid']}, 127.0.0.1:{report['port']}, "
             f"version {health['package_version']})")
        depth = health["queue_depth"]
        # None: the daemon has no login to read a queue for (it retires soon) or cannot open it.
        _out(f"Queue:       {depth} event(s) waiting" if depth is not None else
             "Queue:       unknown (not logged in, or the queue cannot be read; "
             "see `spec-kitty sync status`)")
        last = health["last_drain"]
        if not last:
            _out("Last drain:  none yet")
        else:
            synced = f", synced {last['synced']}" if "synced" in last else ""
            _out(f"Last drain:  {last['at']} ({'ok' if last['ok'] else 'failed'}{synced})")
    elif report["state"] == "unresponsive":
        _out(f"Daemon:      UNRESPONSIVE (pid {report['pid']}, 127.0.0.1:{report['port']}: "
             "alive, but no answer to its health check); run `spec-kitty sync daemon stop`")
    else:
        _out("Daemon:      not running")
    _out(f"Policy:      {report['policy']} ([sync] background_daemon)")
    if report["policy_warning"]:
        _out(f"Warning:     {report['policy_warning']}")
    _out(f"Log:         {report['log_file']}")


@app.command("start", epilog=options.examples(
    "spec-kitty sync daemon start",
    "spec-kitty sync daemon start --json",
))
def start(json_out: bool = options.JSON) -> None:
    """Start the daemon (also under the manual policy) and wait until it answers."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.sync.daemon.control import start as daemon_start

    result = daemon_start()
    if result.skipped_reason is not None:
        raise SpecKittyError(result.message, "DAEMON_NOT_STARTED",
                             details={"skipped_reason": result.skipped_reason},
                             hint="See `spec-kitty sync daemon status` and its log file.")
    if json_out:
        emit_json(result.to_json())
        return
    if result.warning:
        _out(f"Warning: {result.warning}")
    _out(result.message)


@app.command("stop", epilog=options.examples(
    "spec-kitty sync daemon stop",
    "spec-kitty sync daemon stop --json",
))
def stop(json_out: bool = options.JSON) -> None:
    """Ask the daemon to exit after its current drain and wait until it has."""
    from spec_kitty.core.errors import SpecKittyError
    from spec_kitty.sync.daemon.control import stop as daemon_stop

    result = daemon_stop()
    if result["result"] == "still_running":
        raise SpecKittyError(f"The daemon (pid {result['pid']}) did not exit.",
                             "DAEMON_STILL_RUNNING", details=result)
    if json_out:
        emit_json(result)
        return
    _out("The daemon was not running." if result["result"] == "not_running" else
         f"Killed the unresponsive daemon (pid {result['pid']})." if result["unresponsive"]
         else f"Stopped the daemon (pid {result['pid']}).")
