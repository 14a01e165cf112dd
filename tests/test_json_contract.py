"""Every command's --json output is exactly one JSON object on stdout."""

from __future__ import annotations

from pathlib import Path

from helpers import parse_one_json, run_cli
from planning_helpers import plan_mission


def test_every_json_command_prints_one_object(initialized_repo: Path) -> None:
    mission_dir = plan_mission(initialized_repo)
    slug = mission_dir.name
    (initialized_repo / "brief.md").write_text("# Brief\n")
    (initialized_repo / "notes.md").write_text("review notes\n")
    commands = [
        ["init", ".", "--ai", "claude"],
        ["verify-setup"],
        ["status", "--mission", slug],
        ["status", "--all"],
        ["mission", "list"],
        ["mission", "types"],
        ["agent", "tasks", "status", "--mission", slug],
        ["agent", "tasks", "move-task", "WP01", "--to", "claimed", "--mission", slug],
        ["agent", "tasks", "mark-status", "T001", "--mission", slug],
        ["agent", "status", "validate", "--mission", slug],
        ["agent", "status", "materialize", "--mission", slug],
        ["agent", "mission", "setup-plan", "--mission", slug],
        ["agent", "mission", "spec-commit", "--mission", slug],
        ["agent", "mission", "finalize-tasks", "--mission", slug, "--validate-only"],
        ["next", "--agent", "claude", "--mission", slug],
        ["next", "--agent", "claude", "--mission", slug, "--result", "success"],
        ["intake", "brief.md"],
        ["intake", "--show"],
        ["charter", "init"],
        ["charter", "show"],
        ["charter", "context", "--action", "implement"],
        ["agent", "mission", "create", "second-mission"],
        ["accept", "--mission", slug],  # fails: nothing is approved yet
        ["merge", "--mission", slug, "--dry-run"],
        ["merge", "--mission", slug],  # refused by preflight
        ["agent", "action", "implement", "WP01", "--agent", "claude", "--mission", slug],
        ["agent", "action", "review", "--agent", "claude", "--mission", slug],
        # failures are JSON too
        ["agent", "tasks", "move-task", "WP01", "--to", "nowhere", "--mission", slug],
        ["status", "--mission", "no-such-mission"],
    ]
    for args in commands:
        proc = run_cli([*args, "--json"], initialized_repo)
        payload = parse_one_json(proc.stdout)
        assert ("error" in payload) == (proc.returncode != 0), (args, payload)
        assert "Traceback" not in proc.stderr, args
