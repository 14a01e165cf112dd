"""`spec-kitty intake` through the real CLI, plus the provenance escaping as a property."""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_kitty.repo.yamlio import load_mapping
from spec_kitty.services.planning.intake import escape_source

from helpers import CLI, parse_one_json, run_cli

BRIEF = "# Checkout revamp\n\nUsers can pay with a saved card. [bold]not markup[/bold]\n"
HEADER = re.compile(
    rb"\A<!-- spec-kitty intake: source=(?P<source>[^\n]*) ingested_at=(?P<at>\S+) -->\n"
    rb"<!-- brief_hash: (?P<hash>[0-9a-f]{64}) -->\n\n"
)
DROP_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def brief_file(root: Path) -> Path:
    return root / ".kittify" / "mission-brief.md"


def source_file(root: Path) -> Path:
    return root / ".kittify" / "brief-source.yaml"


def split_stored(root: Path) -> tuple[re.Match[bytes], bytes]:
    raw = brief_file(root).read_bytes()
    match = HEADER.match(raw)
    assert match, f"bad header: {raw[:300]!r}"
    return match, raw[match.end():]


def sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def set_cap(root: Path, cap: object) -> None:
    config = root / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + f"intake:\n  max_brief_bytes: {cap}\n")


def assert_nothing_written(root: Path) -> None:
    assert not brief_file(root).exists()
    assert not source_file(root).exists()


def intake_json(root: Path, *args: str, **kwargs: object) -> tuple[int, dict]:
    proc = run_cli(["intake", *args, "--json"], root, **kwargs)  # type: ignore[arg-type]
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, parse_one_json(proc.stdout)


def run_unprivileged(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Root ignores file modes; drop the override capabilities so they apply again."""
    prefix = DROP_OVERRIDE if os.geteuid() == 0 else []
    return run_cli(args, cwd, prefix=prefix)


# --- storing a brief -----------------------------------------------------------------


def test_brief_from_a_file_is_stored_verbatim_with_provenance(initialized_repo: Path) -> None:
    docs = initialized_repo / "docs"
    docs.mkdir()
    (docs / "brief.md").write_text(BRIEF)
    code, payload = intake_json(initialized_repo / "docs", "brief.md")
    assert code == 0, payload
    assert payload["result"] == "success"
    assert payload["brief_path"] == str(brief_file(initialized_repo))
    assert payload["source_path"] == str(docs / "brief.md")
    assert payload["source"] == "docs/brief.md"  # relative to the project, not the cwd
    assert payload["brief_hash"] == sha(BRIEF)
    assert payload["size_bytes"] == len(BRIEF.encode())

    match, body = split_stored(initialized_repo)
    assert body == BRIEF.encode()
    assert match["source"] == b"docs/brief.md"
    assert match["hash"].decode() == sha(BRIEF)
    assert match["at"].decode() == payload["ingested_at"]
    assert payload["ingested_at"].endswith("+00:00")

    record = load_mapping(source_file(initialized_repo))
    assert dict(record) == {
        "source_file": "docs/brief.md",
        "ingested_at": payload["ingested_at"],
        "brief_hash": sha(BRIEF),
        "size_bytes": len(BRIEF.encode()),
    }


def test_brief_from_stdin(initialized_repo: Path) -> None:
    text = "Build a tiny URL shortener.\nNo accounts.\n"
    proc = run_cli(["intake", "-"], initialized_repo, input_text=text)
    assert proc.returncode == 0, proc.stderr
    assert str(brief_file(initialized_repo)) in proc.stdout
    assert sha(text) in proc.stdout
    assert len(proc.stdout.strip().splitlines()) <= 2
    match, body = split_stored(initialized_repo)
    assert body == text.encode() and match["source"] == b"stdin"
    assert match["hash"].decode() == sha(text)
    record = load_mapping(source_file(initialized_repo))
    assert record["source_file"] == "stdin" and record["brief_hash"] == sha(text)


def test_existing_brief_needs_force(initialized_repo: Path) -> None:
    (initialized_repo / "one.md").write_text("first\n")
    (initialized_repo / "two.md").write_text("second\n")
    assert intake_json(initialized_repo, "one.md")[0] == 0

    code, payload = intake_json(initialized_repo, "two.md")
    assert code == 1 and payload["error_code"] == "INTAKE_EXISTS"
    assert "--force" in payload["remediation"]
    assert split_stored(initialized_repo)[1] == b"first\n"

    code, payload = intake_json(initialized_repo, "two.md", "--force")
    assert code == 0, payload
    assert split_stored(initialized_repo)[1] == b"second\n"
    assert load_mapping(source_file(initialized_repo))["brief_hash"] == sha("second\n")


@pytest.mark.parametrize("survivor", ["mission-brief.md", "brief-source.yaml"])
def test_half_written_pair_is_replaced_without_force(initialized_repo: Path,
                                                       survivor: str) -> None:
    (initialized_repo / ".kittify" / survivor).write_text("left over from a crash\n")
    (initialized_repo / "brief.md").write_text(BRIEF)
    code, payload = intake_json(initialized_repo, "brief.md")
    assert code == 0, payload
    assert split_stored(initialized_repo)[1] == BRIEF.encode()
    assert load_mapping(source_file(initialized_repo))["brief_hash"] == sha(BRIEF)


def test_handoff_packet_records_version_and_requirement_ids(initialized_repo: Path) -> None:
    packet = (
        "---\nhandoff_packet: 1\ntitle: Checkout\n---\n"
        "FR-1 pay by card. FR-2 refunds. NFR-1 p95 < 200ms.\n"
        "C-3 no new vendors. FR-1 again, and NFR-12.\n"
    )
    (initialized_repo / "packet.md").write_text(packet)
    assert intake_json(initialized_repo, "packet.md")[0] == 0
    record = load_mapping(source_file(initialized_repo))
    assert record["packet_version"] == 1
    ids = {key: list(value) for key, value in record["requirement_ids"].items()}
    assert ids == {"FR": ["FR-1", "FR-2"], "NFR": ["NFR-1", "NFR-12"], "C": ["C-3"]}
    assert split_stored(initialized_repo)[1] == packet.encode()  # frontmatter kept verbatim
    code, shown = intake_json(initialized_repo, "--show")
    assert code == 0 and shown["packet_version"] == 1
    assert shown["requirement_ids"]["NFR"] == ["NFR-1", "NFR-12"]


@pytest.mark.parametrize("text", [
    "---\ntitle: not a packet\n---\nFR-1 mentioned anyway\n",
    "---\nhandoff_packet: 2\n---\nFR-1 from a packet format we do not know\n",
    "---\nhandoff_packet: [1\n---\nFR-1 behind broken frontmatter\n",
])
def test_other_briefs_have_no_packet_keys(initialized_repo: Path, text: str) -> None:
    assert run_cli(["intake", "-"], initialized_repo, input_text=text).returncode == 0
    assert split_stored(initialized_repo)[1] == text.encode()
    record = load_mapping(source_file(initialized_repo))
    assert "packet_version" not in record and "requirement_ids" not in record


# --- refusing a brief ----------------------------------------------------------------


def test_parent_traversal_is_refused(initialized_repo: Path) -> None:
    (initialized_repo.parent / "outside.md").write_text("secret\n")
    code, payload = intake_json(initialized_repo, "../outside.md")
    assert code == 1 and payload["error_code"] == "INTAKE_PATH_ESCAPE"
    assert_nothing_written(initialized_repo)


def test_symlink_to_outside_is_refused(initialized_repo: Path) -> None:
    outside = initialized_repo.parent / "elsewhere.md"
    outside.write_text("secret\n")
    (initialized_repo / "link.md").symlink_to(outside)
    code, payload = intake_json(initialized_repo, "link.md")
    assert code == 1 and payload["error_code"] == "INTAKE_PATH_ESCAPE"
    assert_nothing_written(initialized_repo)


def test_symlink_within_the_project_is_followed(initialized_repo: Path) -> None:
    (initialized_repo / "real.md").write_text(BRIEF)
    (initialized_repo / "alias.md").symlink_to("real.md")
    code, payload = intake_json(initialized_repo, "alias.md")
    assert code == 0, payload
    assert payload["source"] == "real.md"
    assert split_stored(initialized_repo)[1] == BRIEF.encode()


def test_oversize_file_is_refused_before_reading(initialized_repo: Path) -> None:
    set_cap(initialized_repo, 1000)
    (initialized_repo / "big.md").write_text("x" * 1001)
    code, payload = intake_json(initialized_repo, "big.md")
    assert code == 1 and payload["error_code"] == "INTAKE_TOO_LARGE"
    assert "1001" in payload["error"] and "1000" in payload["error"]
    assert_nothing_written(initialized_repo)


def test_oversize_stdin_is_refused(initialized_repo: Path) -> None:
    set_cap(initialized_repo, 1000)
    code, payload = intake_json(initialized_repo, "-", input_text="y" * 5000)
    assert code == 1 and payload["error_code"] == "INTAKE_TOO_LARGE"
    assert "1000" in payload["error"]
    assert_nothing_written(initialized_repo)


def test_configured_cap_is_honoured_at_the_boundary(initialized_repo: Path) -> None:
    set_cap(initialized_repo, 1000)
    code, payload = intake_json(initialized_repo, "-", input_text="z" * 1000)
    assert code == 0, payload
    assert payload["size_bytes"] == 1000
    (initialized_repo / "exact.md").write_text("a" * 1000)
    assert intake_json(initialized_repo, "exact.md", "--force")[0] == 0


def test_default_cap_is_five_mebibytes(initialized_repo: Path) -> None:
    code, payload = intake_json(initialized_repo, "-", input_text="q" * (5 * 1024 * 1024 + 1))
    assert code == 1 and payload["error_code"] == "INTAKE_TOO_LARGE"
    assert str(5 * 1024 * 1024) in payload["error"]


@pytest.mark.parametrize("bad", ["0", "-5", "lots", "true"])
def test_invalid_cap_in_config_is_reported(initialized_repo: Path, bad: str) -> None:
    set_cap(initialized_repo, bad)
    code, payload = intake_json(initialized_repo, "-", input_text="brief\n")
    assert code == 1 and payload["error_code"] == "INTAKE_CONFIG_INVALID"
    assert_nothing_written(initialized_repo)


def test_missing_and_unreadable_files_are_told_apart(initialized_repo: Path) -> None:
    code, payload = intake_json(initialized_repo, "nope.md")
    assert code == 1 and payload["error_code"] == "INTAKE_FILE_MISSING"

    locked = initialized_repo / "locked.md"
    locked.write_text(BRIEF)
    locked.chmod(0)
    try:
        proc = run_unprivileged(["intake", "locked.md", "--json"], initialized_repo)
    finally:
        locked.chmod(0o644)
    payload = parse_one_json(proc.stdout)
    assert proc.returncode == 1 and payload["error_code"] == "INTAKE_FILE_UNREADABLE"
    assert "Permission denied" in payload["error"]
    assert_nothing_written(initialized_repo)


def test_directory_and_non_utf8_are_unreadable(initialized_repo: Path) -> None:
    (initialized_repo / "folder").mkdir()
    code, payload = intake_json(initialized_repo, "folder")
    assert code == 1 and payload["error_code"] == "INTAKE_FILE_UNREADABLE"
    assert "directory" in payload["error"]

    (initialized_repo / "latin1.md").write_bytes("caf\xe9\n".encode("latin-1"))
    code, payload = intake_json(initialized_repo, "latin1.md")
    assert code == 1 and payload["error_code"] == "FILE_NOT_UTF8"
    assert "UTF-8" in payload["error"] and "latin1.md" in payload["error"]
    assert_nothing_written(initialized_repo)


def test_human_errors_have_no_traceback(initialized_repo: Path) -> None:
    proc = run_cli(["intake", "../nowhere/x.md"], initialized_repo)
    assert proc.returncode == 1
    assert "No such file" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


# --- provenance escaping -------------------------------------------------------------


def test_hostile_file_name_cannot_break_the_header(initialized_repo: Path) -> None:
    folder = initialized_repo / "notes*"
    folder.mkdir()
    name = "#x --> <script>\n\x01\x1b[31m\x7f\tend.md"
    (folder / name).write_text(BRIEF)
    code, payload = intake_json(initialized_repo, f"notes*/{name}")
    assert code == 0, payload
    expected = "notes*&#47;#x --&gt; <script>[31m\tend.md"
    assert payload["source"] == expected

    raw = brief_file(initialized_repo).read_bytes()
    first_line = raw.split(b"\n", 1)[0].decode()
    assert first_line.count("-->") == 1 and first_line.endswith(" -->")
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", first_line)
    match, body = split_stored(initialized_repo)
    assert match["source"].decode() == expected and body == BRIEF.encode()
    assert load_mapping(source_file(initialized_repo))["source_file"] == expected


def test_leading_hash_and_length_are_escaped() -> None:
    assert escape_source("#title.md") == "\\#title.md"
    assert escape_source("a*/b") == "a*&#47;b"
    assert escape_source("plain/brief.md") == "plain/brief.md"
    clipped = escape_source("é" * 200)  # 400 bytes; a cut must not split a character
    assert clipped == "é" * 128


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=400))
def test_escaping_always_yields_a_safe_comment_value(source: str) -> None:
    escaped = escape_source(source)
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", escaped)
    assert "-->" not in escaped
    encoded = escaped.encode("utf-8")  # raises on lone surrogates
    assert len(encoded) <= 256
    assert encoded.decode("utf-8") == escaped


@given(st.text(alphabet="-->*/#\t\n\x00ab", max_size=60))
def test_escaping_handles_dense_delimiters(source: str) -> None:
    escaped = escape_source(source)
    assert "-->" not in escaped and "*/" not in escaped
    assert not escaped.startswith("#")


# --- showing the brief ---------------------------------------------------------------


def test_show_without_a_brief(initialized_repo: Path) -> None:
    code, payload = intake_json(initialized_repo, "--show")
    assert code == 1 and payload["error_code"] == "INTAKE_NO_BRIEF"
    proc = run_cli(["intake", "--show"], initialized_repo)
    assert proc.returncode == 1 and "No mission brief" in proc.stderr


def test_show_prints_the_original_text(initialized_repo: Path) -> None:
    assert run_cli(["intake", "-"], initialized_repo, input_text=BRIEF).returncode == 0
    proc = run_cli(["intake", "--show"], initialized_repo)
    assert proc.returncode == 0
    assert proc.stdout == BRIEF  # verbatim: no header, no rich markup applied
    code, payload = intake_json(initialized_repo, "--show")
    assert code == 0
    assert payload["content"] == BRIEF
    assert payload["brief_hash"] == sha(BRIEF) and payload["hash_matches"] is True
    assert payload["source"] == "stdin"


def test_show_of_an_unreadable_brief_exits_2(initialized_repo: Path) -> None:
    assert run_cli(["intake", "-"], initialized_repo, input_text=BRIEF).returncode == 0
    brief_file(initialized_repo).chmod(0)
    try:
        proc = run_unprivileged(["intake", "--show", "--json"], initialized_repo)
    finally:
        brief_file(initialized_repo).chmod(0o644)
    assert proc.returncode == 2
    assert parse_one_json(proc.stdout)["error_code"] == "INTAKE_BRIEF_UNREADABLE"


@pytest.mark.parametrize("args", [[], ["x.md", "--show"], ["--show", "--force"]])
def test_bad_argument_combinations_are_usage_errors(initialized_repo: Path,
                                                    args: list[str]) -> None:
    code, payload = intake_json(initialized_repo, *args)
    assert code == 2 and payload["error_code"] == "USAGE_ERROR"


def test_outside_a_project(tmp_path: Path) -> None:
    code, payload = intake_json(tmp_path, "-", input_text="brief\n")
    assert code == 1 and payload["error_code"] == "PROJECT_NOT_FOUND"


# --- crash safety --------------------------------------------------------------------


def _check_after_kill(root: Path) -> str:
    """The invariant after any SIGKILL; returns which state the pair was left in."""
    brief, source = brief_file(root), source_file(root)
    for leftover in (root / ".kittify").glob(".*.tmp"):
        leftover.unlink()  # a killed atomic write may leave its temp file; never the real name
    recorded = load_mapping(source)["brief_hash"] if source.exists() else None
    if not brief.exists():
        return "none"
    match, body = split_stored(root)
    assert match["hash"].decode() == sha(body), "mission-brief.md is incomplete"
    if recorded is not None:
        assert recorded == match["hash"].decode(), "brief and brief-source.yaml disagree"
    return "complete"


def _start_intake(root: Path, stdin_file: Path) -> subprocess.Popen[bytes]:
    with stdin_file.open("rb") as stdin:
        return subprocess.Popen(
            [str(CLI), "intake", "-", "--force"], cwd=root, stdin=stdin,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


@pytest.mark.slow
def test_sigkill_never_leaves_a_partial_brief(initialized_repo: Path, tmp_path: Path) -> None:
    rng = random.Random(20240611)
    filler = ("lorem ipsum dolor sit amet " * 40 + "\n").encode()
    payload = (filler * (4 * 1024 * 1024 // len(filler)))[: 4 * 1024 * 1024 - 64]
    stdin_file = tmp_path / "brief.txt"

    # Calibrate: the CLI's start-up alone outlasts 60 ms here, so spread the kills over
    # one whole uninterrupted run instead, or they would never land inside the writes.
    stdin_file.write_bytes(b"calibration\n" + payload)
    started = time.monotonic()
    assert _start_intake(initialized_repo, stdin_file).wait(timeout=30) == 0
    window = max(time.monotonic() - started, 0.06) * 1.1
    assert _check_after_kill(initialized_repo) == "complete"

    outcomes: dict[str, int] = {}
    for trial in range(100):
        # A different brief each time, so an old brief beside a new YAML would show.
        stdin_file.write_bytes(f"trial {trial}\n".encode() + payload)
        proc = _start_intake(initialized_repo, stdin_file)
        time.sleep(rng.uniform(0, window))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = _check_after_kill(initialized_repo)
        outcomes[state] = outcomes.get(state, 0) + 1
    assert sum(outcomes.values()) == 100
    assert outcomes.get("complete", 0) > 0, outcomes
