"""Two agents claiming the same work package at the same moment: exactly one wins."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import CLI
from planning_helpers import plan_mission, sk


def test_concurrent_claims_have_exactly_one_winner(initialized_repo: Path) -> None:
    repo = initialized_repo
    slug = plan_mission(repo).name
    for wp in ("WP01", "WP02"):
        procs = [subprocess.Popen([str(CLI), "agent", "action", "implement", wp, "--agent",
                                   agent, "--mission", slug, "--json"], cwd=repo,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for agent in ("claude", "codex", "gemini")]
        outcomes = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            outcomes.append((proc.returncode, json.loads(out)))
            assert "Traceback" not in err
        winners = [payload for code, payload in outcomes if code == 0]
        losers = [payload for code, payload in outcomes if code != 0]
        assert len(winners) == 1, outcomes
        assert {p["error_code"] for p in losers} == {"WORK_PACKAGE_CLAIM_CONFLICT"}
        assert all(p["holder"] == winners[0]["agent"] for p in losers)
        events = (repo / "kitty-specs" / slug / "status.events.jsonl").read_text()
        claims = [json.loads(line) for line in events.splitlines()
                  if json.loads(line)["wp_id"] == wp and json.loads(line)["to_lane"] == "claimed"]
        assert len(claims) == 1
    board = sk(repo, "agent", "tasks", "status", "--mission", slug)[1]
    assert {c["id"]: c["lane"] for c in board["work_packages"]}["WP02"] == "in_progress"
