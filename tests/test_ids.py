"""One normalisation of identifier shapes: WP ids, requirement ids, agent ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_kitty.core import ids
from spec_kitty.core.errors import SpecKittyError
from test_reducer import event_rows

from helpers import parse_one_json, run_cli
from missions_fixture import event, make_mission, write_log
from planning_helpers import SPEC_ROWS, WPS, create, fill_plan, sk, write_spec, write_tasks

NUMBERS = st.integers(min_value=0, max_value=5000)


@st.composite
def wp_spellings(draw: st.DrawFn) -> tuple[str, int]:
    number = draw(NUMBERS)
    prefix = draw(st.sampled_from(["WP", "wp", "Wp", "wP"]))
    sep = draw(st.sampled_from(["", "", "", " ", "-", "_"]))
    zeros = "0" * draw(st.integers(0, 3))
    pad = draw(st.sampled_from(["", " ", "  "]))
    return f"{pad}{prefix}{sep}{zeros}{number}{pad}", number


@settings(max_examples=500)
@given(wp_spellings())
def test_every_wp_spelling_names_one_canonical_id(spelling: tuple[str, int]) -> None:
    text, number = spelling
    canonical = ids.normalize_wp_id(text)
    assert canonical == f"WP{number:02d}"
    assert ids.normalize_wp_id(canonical) == canonical  # idempotent
    assert ids.parse_wp_list([text]).ids == [canonical]
    assert ids.parse_wp_list(f"[{text.strip()}]").ids == [canonical]


@settings(max_examples=300)
@given(st.text(max_size=12))
def test_anything_else_is_rejected_as_a_usage_error(text: str) -> None:
    if ids.canonical_wp_id(text) is not None:
        assert text.strip().lower().startswith("wp")
        return
    with pytest.raises(SpecKittyError) as caught:
        ids.normalize_wp_id(text)
    assert caught.value.code == "INVALID_WP_ID" and caught.value.exit_code == 2


@settings(max_examples=300)
@given(st.lists(NUMBERS, max_size=6), st.sampled_from([", ", ",", " ", "; "]),
       st.sampled_from(["list", "string", "bracketed"]))
def test_dependency_lists_read_the_same_however_spelled(numbers: list[int], sep: str,
                                                        form: str) -> None:
    spelled = [f"WP{n}" for n in numbers]
    value: object = {"list": spelled, "string": sep.join(spelled),
                     "bracketed": "[" + sep.join(spelled) + "]"}[form]
    expected = list(dict.fromkeys(f"WP{n:02d}" for n in numbers))
    assert ids.parse_wp_list(value) == ids.IdList(expected, [])


@pytest.mark.parametrize("value", [None, [], "[]", "", "none", "[ ]", "n/a"])
def test_empty_spellings_are_no_dependencies(value: object) -> None:
    assert ids.parse_wp_list(value) == ids.IdList([], [])


def test_non_ids_are_kept_as_invalid_never_dropped() -> None:
    assert ids.parse_wp_list(["WP1", "storage layer"]) == ids.IdList(["WP01"],
                                                                     ["storage layer"])
    assert ids.parse_wp_list({"a": 1}).invalid == ["{'a': 1}"]


@settings(max_examples=300)
@given(st.sampled_from(["FR", "NFR", "C", "fr", "Nfr"]), st.integers(0, 99999),
       st.sampled_from(["", "a", "b", "Z"]))
def test_requirement_ids_with_and_without_suffix(prefix: str, number: int, suffix: str) -> None:
    digits = f"{number:03d}"
    assert ids.normalize_requirement_id(f"{prefix}-{digits}{suffix}") == \
        f"{prefix.upper()}-{digits}{suffix.lower()}"
    assert ids.normalize_requirement_id(f"{prefix}-{number % 100}") is None or number >= 100


@settings(max_examples=300)
@given(st.sampled_from(["FR", "NFR", "C"]), st.integers(1, 99999),
       st.sampled_from(["", "a", "A", "b", "Z"]), st.sampled_from(["table", "bullet"]),
       st.booleans())
def test_a_requirement_spec_defines_is_the_one_a_wp_refers_to(
        prefix: str, number: int, suffix: str, form: str, swap_case: bool) -> None:
    """spec.md's row and a WP's requirement_refs meet however the suffix is cased: a row
    that exists is never "not defined" (and never an invalid shape)."""
    from spec_kitty.core import documents

    written = f"{prefix}-{number:03d}{suffix}"
    row = {"table": f"| {written} | Export as CSV | US1 |", "bullet": f"- {written}: Export"}[form]
    spec = f"# Spec\n\n| ID | Title | Story |\n|---|---|---|\n{row}\n\nSee {written}.\n"
    ref = written.swapcase() if swap_case and suffix else written
    canonical = ids.normalize_requirement_id(ref)
    assert canonical == f"{prefix}-{number:03d}{suffix.lower()}"
    assert [r.req_id for r in documents.defined_requirements(spec)] == [canonical]
    assert documents.malformed_requirement_rows(spec) == []
    assert set(documents.mentioned_requirement_ids(spec)) == {canonical}


@pytest.mark.parametrize(("recorded", "agent", "matches"), [
    ("claude", "claude", True),
    ("claude:opus:reviewer-profile:implementer", "claude", True),
    ({"tool": "claude", "model": "opus", "role": "implementer"}, "claude", True),
    ("claude:opus:p:implementer", "claude:sonnet:q:reviewer", True),
    ("codex:gpt:p:implementer", "claude", False),
    ("claudette", "claude", False),
    (None, "claude", False),
    ("claude", "", False),
])
def test_compound_agent_ids_match_their_tool(recorded: object, agent: str,
                                             matches: bool) -> None:
    assert ids.agent_matches(recorded, agent) is matches


# --- end to end ---------------------------------------------------------------------------

def _plan(repo: Path, wps: dict, extra_spec_row: str = "") -> tuple[Path, int, dict]:
    """Plan a mission like an agent (planning_helpers), then run finalize-tasks."""
    created = create(repo)
    mission_dir, slug = Path(created["feature_dir"]), created["mission_slug"]
    write_spec(mission_dir)
    if extra_spec_row:
        spec = mission_dir / "spec.md"
        spec.write_text(spec.read_text().replace(SPEC_ROWS, SPEC_ROWS + "\n" + extra_spec_row))
    assert sk(repo, "agent", "mission", "spec-commit", "--mission", slug)[0] == 0
    sk(repo, "agent", "mission", "setup-plan", "--mission", slug)
    fill_plan(mission_dir)
    sk(repo, "agent", "mission", "setup-plan", "--mission", slug)
    write_tasks(mission_dir, wps)
    code, result = sk(repo, "agent", "mission", "finalize-tasks", "--mission", slug)
    return mission_dir, code, result


def test_dependency_on_wp1_meets_the_file_wp01(initialized_repo: Path) -> None:
    """The issue's example: `dependencies: [WP1]` passed finalize, then blocked the work
    package forever as "WP1 (unknown)"."""
    mission_dir, code, result = _plan(initialized_repo, WPS)
    assert code == 0, result
    slug = mission_dir.name
    wp03 = next((mission_dir / "tasks").glob("WP03-*.md"))
    wp03.write_text("---\nwork_package_id: WP3\ntitle: Command line\n"
                    "dependencies: [WP1, wp2]\nsubtasks: [T004]\n"
                    "owned_files: [src/todo/cli.py]\nrequirement_refs: [FR-001, FR-002]\n"
                    "---\n# WP03\n")
    code, result = sk(initialized_repo, "agent", "mission", "finalize-tasks", "--mission", slug,
                      "--validate-only")
    assert code == 0, result
    assert result["dependencies_parsed"]["WP03"] == ["WP01", "WP02"]
    for handle, wp in (("wp1", "WP01"), ("WP002", "WP02")):
        forced = sk(initialized_repo, "agent", "tasks", "move-task", handle, "--to", "approved",
                    "--force", "--reason", "test", "--mission", slug)
        assert forced[0] == 0 and forced[1]["wp_id"] == wp, forced
    code, answer = sk(initialized_repo, "next", "--agent", "claude", "--mission", slug)
    assert answer["preview_step"] == {"kind": "step", "action": "implement", "wp_id": "WP03"}
    board = sk(initialized_repo, "agent", "tasks", "status", "--mission", slug)[1]
    card = next(c for c in board["work_packages"] if c["id"] == "WP03")
    assert card["dependencies"] == ["WP01", "WP02"]
    wp03.write_text(wp03.read_text().replace("[WP1, wp2]", '"WP1, WP2"'))
    code, answer = sk(initialized_repo, "next", "--agent", "claude", "--mission", slug)
    assert answer["preview_step"]["wp_id"] == "WP03"


def test_requirement_ids_with_a_suffix_are_accepted(initialized_repo: Path) -> None:
    wps = dict(WPS)
    wps["WP04"] = ("Export", ["WP03"], ["FR-003", "FR-003a"], ["T005"], ["src/todo/export.py"])
    mission_dir, code, result = _plan(initialized_repo, wps,
                                      "| FR-003a | Export as CSV too | US1 | P3 | Draft |")
    assert code == 0, result
    assert result["requirement_refs_parsed"]["WP04"] == ["FR-003", "FR-003a"]


def test_odd_requirement_id_shapes_are_reported_as_shapes(initialized_repo: Path) -> None:
    wps = dict(WPS)
    wps["WP04"] = ("Export", ["WP03"], ["FR-003", "FR-3b"], ["T005"], ["src/todo/export.py"])
    _, code, result = _plan(initialized_repo, wps, "| FR-3b | Odd | US1 | P3 | Draft |")
    assert code == 1
    messages = [p["message"] for p in result["problems"]]
    assert not any("does not define" in m for m in messages), messages
    shapes = [p for p in result["problems"] if p["code"] == "INVALID_REQUIREMENT_ID"]
    assert {p["file"].rsplit("/", 1)[-1] for p in shapes} == {"spec.md", "tasks.md"}
    assert all("FR-3b" in p["message"] for p in shapes)


def test_compound_agent_in_the_log_is_the_same_agent(initialized_repo: Path) -> None:
    mission = make_mission(initialized_repo)
    rows = [json.loads(line) for line in mission.events_file.read_text().splitlines()]
    rows += [event("WP01", "planned", "claimed", "2026-11-01T11:00:00+00:00",
                   "01JD0000000000000000000010", actor="claude:opus:impl-profile:implementer"),
             event("WP01", "claimed", "in_progress", "2026-11-01T11:00:01+00:00",
                   "01JD0000000000000000000011", actor="claude:opus:impl-profile:implementer")]
    write_log(mission.events_file, rows)
    proc = run_cli(["next", "--agent", "claude", "--json"], initialized_repo)
    answer = parse_one_json(proc.stdout)
    assert answer["preview_step"]["wp_id"] == "WP01"
    assert "already yours" in answer["reason"]
    other = parse_one_json(run_cli(["next", "--agent", "codex", "--json"],
                                   initialized_repo).stdout)
    assert other["preview_step"]["wp_id"] != "WP01"


def _handed_over_by_compound_agent(repo: Path) -> None:
    """WP01 implemented and handed to review by ``claude:opus:impl-profile:implementer``."""
    mission = make_mission(repo)
    rows = [json.loads(line) for line in mission.events_file.read_text().splitlines()]
    actor = "claude:opus:impl-profile:implementer"
    for index, (frm, to) in enumerate([("planned", "claimed"), ("claimed", "in_progress"),
                                       ("in_progress", "for_review")]):
        rows.append(event("WP01", frm, to, f"2026-11-01T11:00:0{index}+00:00",
                          f"01JD00000000000000000000{20 + index}", actor=actor))
    write_log(mission.events_file, rows)


def test_self_review_is_forbidden_for_a_compound_implementer(initialized_repo: Path) -> None:
    """`claude:opus:<profile>:implementer` implemented WP01, so `--agent claude` reviewing
    it is self-review (compared by tool, not by string equality)."""
    _handed_over_by_compound_agent(initialized_repo)
    config = initialized_repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "review:\n  allow_self_review: false\n")
    proc = run_cli(["agent", "action", "review", "WP01", "--agent", "claude", "--json"],
                   initialized_repo)
    refused = parse_one_json(proc.stdout)
    assert proc.returncode == 1 and refused["error_code"] == "SELF_REVIEW_FORBIDDEN", refused


def test_held_by_matches_a_compound_holder() -> None:
    from spec_kitty.services.execution.next_outcomes import held_by

    snapshot = {"work_packages": {
        "WP01": {"lane": "planned"},
        "WP02": {"lane": "in_progress", "actor": "claude:opus:p:implementer"},
        "WP03": {"lane": "in_review", "actor": "codex:gpt:p:reviewer"}}}
    assert held_by(snapshot, "claude") == "WP02"
    assert held_by(snapshot, "codex") == "WP03"
    assert held_by(snapshot, "cursor") is None


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_log_folds_the_same_however_its_rows_spell_wp_ids(data: st.DataObject) -> None:
    """Events are one of the places ids are read: `WP1`, `wp01`, `WP001` rows are WP01's,
    on the parsing path and on the reducer's shortcut for rows it has seen before."""
    import os
    import tempfile

    from spec_kitty.core.status.events import parse_log_strict
    from spec_kitty.core.status.reducer import reduce_log
    from spec_kitty.repo.status import log_stream

    rows = data.draw(event_rows())
    spelled = []
    for row in rows:
        number = int(row["wp_id"][2:])
        spelling = data.draw(st.sampled_from([f"WP{number}", f"wp{number:02d}",
                                              f"WP{number:03d}", row["wp_id"]]))
        spelled.append({**row, "wp_id": spelling})

    def encode(items: list[dict]) -> bytes:
        return "".join(json.dumps(r, sort_keys=True) + "\n" for r in items).encode()

    def streamed(raw: bytes) -> dict:
        with tempfile.NamedTemporaryFile() as handle:
            handle.write(raw)
            handle.flush()
            fd = os.open(handle.name, os.O_RDONLY)
            try:
                result = log_stream.stream_fold(fd)
            finally:
                os.close(fd)
        assert result.problems == []
        return result.fold.snapshot(fallback_slug="m")

    want = reduce_log(parse_log_strict(encode(rows), "canonical"), mission_slug="m")
    assert reduce_log(parse_log_strict(encode(spelled), "spelled"), mission_slug="m") == want
    assert streamed(encode(spelled)) == want
