"""The hosted foundation: rollout gate, runtime root, config.toml, hub URL, readiness."""

from __future__ import annotations

import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec_kitty.hosted import gate
from spec_kitty.hosted.config import UserConfigError, get_string, read_user_config, set_setting
from spec_kitty.hosted.readiness import NotReady, ReadinessState, evaluate_readiness
from spec_kitty.hosted.runtime import RuntimePaths, ensure_private_dir, runtime_root
from spec_kitty.hosted.server import ServerUrlError, normalise_server_url, resolve_server_url

from helpers import parse_one_json, run_cli

ON = {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}

# -- the gate ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " yes ", "Y", "on", "\tOn\n", "True"])
def test_gate_is_on_for_the_documented_values(value: str) -> None:
    assert gate.is_enabled({gate.GATE_ENV: value})


@pytest.mark.parametrize("value", ["", " ", "0", "false", "no", "off", "enabled", "2", "yes!"])
def test_gate_is_off_for_anything_else(value: str) -> None:
    assert not gate.is_enabled({gate.GATE_ENV: value})
    assert not gate.is_enabled({})


@given(st.text(max_size=12))
def test_gate_matches_the_contract_for_any_value(value: str) -> None:
    expected = value.strip().lower() in {"1", "true", "yes", "y", "on"}
    assert gate.is_enabled({gate.GATE_ENV: value}) is expected


def test_gate_is_read_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gate.GATE_ENV, raising=False)
    assert not gate.is_enabled()
    monkeypatch.setenv(gate.GATE_ENV, "on")
    assert gate.is_enabled()
    monkeypatch.setenv(gate.GATE_ENV, "off")
    with pytest.raises(gate.HostedDisabled) as caught:
        gate.require_enabled()
    assert caught.value.message == gate.OFF_MESSAGE
    assert caught.value.code == "ROLLOUT_DISABLED"


def test_off_message_is_the_reference_text() -> None:
    assert gate.OFF_MESSAGE == ("Hosted SaaS sync is not enabled on this machine. "
                                "Set `SPEC_KITTY_ENABLE_SAAS_SYNC=1` to opt in.")


def test_gate_off_hides_and_refuses_hosted_commands(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gate.GATE_ENV, raising=False)
    shown = run_cli(["--help"], tmp_path)
    assert shown.returncode == 0 and "auth" not in shown.stdout.split("Commands:")[1]
    for args in (["auth", "status"], ["auth", "login", "--headless"], ["auth"],
                 ["auth", "--help"], ["auth", "no-such-subcommand"]):
        proc = run_cli(args, tmp_path)
        assert proc.returncode == 1, args
        assert proc.stderr.strip() == gate.OFF_MESSAGE
        assert proc.stdout == ""
    as_json = parse_one_json(run_cli(["auth", "whoami", "--json"], tmp_path).stdout)
    assert as_json == {"error": gate.OFF_MESSAGE, "error_code": "ROLLOUT_DISABLED"}
    assert not (Path(os.environ["SPEC_KITTY_HOME"])).exists()


def test_gate_on_shows_the_auth_group(tmp_path: Path) -> None:
    proc = run_cli(["--help"], tmp_path, env={**ON})
    assert "auth" in proc.stdout.split("Commands:")[1]
    assert "login" in run_cli(["auth", "--help"], tmp_path, env=ON).stdout


def test_auth_status_says_why_a_configured_hub_url_is_refused(tmp_path: Path) -> None:
    env = {**ON, "SPEC_KITTY_SAAS_URL": "http://hub.example.com"}
    answer = run_cli(["auth", "status", "--json"], tmp_path, env=env)
    report = parse_one_json(answer.stdout)
    assert answer.returncode == 0 and report["logged_in"] is False
    assert report["server_url_problem"]["error_code"] == "SERVER_URL_INVALID"
    assert "SPEC_KITTY_SAAS_URL" in report["server_url_problem"]["error"]
    text = run_cli(["auth", "status"], tmp_path, env=env).stdout
    assert "plain http" in text and "https://" in text
    fine = parse_one_json(run_cli(["auth", "status", "--json"], tmp_path, env={
        **ON, "SPEC_KITTY_SAAS_URL": "https://hub.example.com"}).stdout)
    assert fine["server_url_problem"] is None
    assert fine["configured_server_url"] == "https://hub.example.com"


def test_later_hosted_groups_get_the_gate_generically(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hosted group registered like `sync` (with `now` allowed to succeed) behaves as
    the reference says with the gate off: `sync now` exits 0, everything else 1, and the
    group's module is never imported."""
    from typer.testing import CliRunner

    from spec_kitty.cli.lazy import Entry, LazyGroup, command_app

    class Root(LazyGroup):
        registry = {"sync": Entry("module.that.does.not.exist", "Sync.", hosted=True,
                                  off_ok=("now",))}

    root = command_app(cls=Root)

    @root.callback()
    def _root() -> None:
        """Root."""

    runner = CliRunner()
    monkeypatch.delenv(gate.GATE_ENV, raising=False)
    assert "sync" not in runner.invoke(root, ["--help"]).output
    now = runner.invoke(root, ["sync", "now"])
    assert (now.exit_code, now.stdout.strip()) == (0, gate.OFF_MESSAGE)
    now_json = runner.invoke(root, ["sync", "now", "--json", "--strict"])
    assert now_json.exit_code == 0
    assert parse_one_json(now_json.stdout) == {"result": "disabled", "message": gate.OFF_MESSAGE}
    for args in (["sync", "status"], ["sync"], ["sync", "--help"], ["sync", "--report", "now"]):
        refused = runner.invoke(root, args)
        assert refused.exit_code == 1, args
        assert refused.stderr.strip() == gate.OFF_MESSAGE and refused.stdout == ""
    monkeypatch.setenv(gate.GATE_ENV, "1")
    assert "sync" in runner.invoke(root, ["--help"]).output
    on = runner.invoke(root, ["sync", "now"])  # with the gate on the real module is loaded
    assert isinstance(on.exception, ModuleNotFoundError)


# -- runtime root and config.toml -------------------------------------------------------


def test_runtime_root_defaults_and_override(tmp_path: Path) -> None:
    assert runtime_root({"HOME": str(tmp_path)}) == Path.home() / ".spec-kitty"
    assert runtime_root({"SPEC_KITTY_HOME": f"  {tmp_path}/rt "}) == tmp_path / "rt"
    assert runtime_root({"SPEC_KITTY_HOME": "   "}) == Path.home() / ".spec-kitty"
    paths = RuntimePaths(tmp_path)
    assert paths.session_file == tmp_path / "auth" / "session.json"
    assert paths.refresh_lock == tmp_path / "auth" / "refresh.lock"
    assert paths.config_file == tmp_path / "config.toml"


def test_private_dirs_are_0700_and_existing_parents_untouched(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    target = ensure_private_dir(tmp_path / "a" / "b")
    for path in (tmp_path / "a", target):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
    target.chmod(0o755)
    ensure_private_dir(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_config_write_keeps_comments_and_unknown_keys(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path / "rt")
    assert read_user_config(paths) == {}
    assert not paths.root.exists()  # reading creates nothing
    paths.root.mkdir()
    paths.config_file.write_text(
        "# my notes\n[sync]\nmax_queue_size = 5000  # keep small\nserver_url = \"x\"\n\n"
        "[future]\nflag = true\n")
    set_setting("sync", "server_url", "https://hub.example.com", paths)
    text = paths.config_file.read_text()
    assert "# my notes" in text and "# keep small" in text and "[future]" in text
    data = read_user_config(paths)
    assert data == {"sync": {"max_queue_size": 5000, "server_url": "https://hub.example.com"},
                    "future": {"flag": True}}
    set_setting("sync", "server_url", None, paths)
    assert read_user_config(paths)["sync"] == {"max_queue_size": 5000}
    set_setting("daemon", "policy", "manual", paths)
    assert get_string("daemon", "policy", paths) == "manual"


def test_config_created_from_nothing_is_private(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path / "new-root")
    set_setting("sync", "server_url", "https://hub.example.com", paths)
    assert stat.S_IMODE(paths.root.stat().st_mode) == 0o700
    assert get_string("sync", "server_url", paths) == "https://hub.example.com"


def test_bad_config_names_the_file_and_line(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    paths.config_file.write_text("[sync]\nserver_url = \"ok\"\nbroken = \n")
    with pytest.raises(UserConfigError) as caught:
        read_user_config(paths)
    assert caught.value.code == "CONFIG_INVALID"
    assert caught.value.details == {"file": str(paths.config_file), "line": 3}
    assert str(paths.config_file) in caught.value.message
    with pytest.raises(UserConfigError):  # and a write never clobbers it
        set_setting("sync", "server_url", "https://x", paths)
    assert paths.config_file.read_text().endswith("broken = \n")
    paths.config_file.write_bytes(b"\xff\xfe[sync]")
    with pytest.raises(UserConfigError, match="not UTF-8"):
        read_user_config(paths)
    paths.config_file.write_text("sync = 3\n")
    with pytest.raises(UserConfigError, match=r"\[sync\] must be a table"):
        get_string("sync", "server_url", paths)
    paths.config_file.write_text("[sync]\nserver_url = 3\n")
    with pytest.raises(UserConfigError, match="sync.server_url must be a string"):
        get_string("sync", "server_url", paths)


def test_config_with_a_bom_reads(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    paths.config_file.write_bytes(b"\xef\xbb\xbf[sync]\nserver_url = 'https://h.example'\n")
    assert get_string("sync", "server_url", paths) == "https://h.example"


# -- hub URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://hub.example.com/", "https://hub.example.com"),
    ("  HTTPS://Hub.Example.com:8443/kitty/ ", "https://hub.example.com:8443/kitty"),
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("http://127.8.9.10", "http://127.8.9.10"),
    ("http://localhost:9000/", "http://localhost:9000"),
    ("http://[::1]:9000", "http://[::1]:9000"),
])
def test_acceptable_hub_urls(raw: str, expected: str) -> None:
    assert normalise_server_url(raw, "test") == expected


@pytest.mark.parametrize(("raw", "problem"), [
    ("http://hub.example.com", "HTTPS is required"),
    ("http://10.0.0.5:8000", "HTTPS is required"),
    ("ftp://hub.example.com", "not an http"),
    ("hub.example.com", "not an http"),
    ("https://", "not an http"),
    ("https://user:secret@hub.example.com", "credentials"),
    ("https://hub.example.com/?token=1", "query or fragment"),
    ("https://hub.example.com:99999", "(?i)port"),
])
def test_unacceptable_hub_urls(raw: str, problem: str) -> None:
    with pytest.raises(ServerUrlError, match=problem) as caught:
        normalise_server_url(raw, "SPEC_KITTY_SAAS_URL")
    assert caught.value.message.startswith("SPEC_KITTY_SAAS_URL: ")
    assert "secret" not in caught.value.message or problem != "credentials"


def test_env_wins_over_config_and_there_is_no_default(tmp_path: Path) -> None:
    paths = RuntimePaths(tmp_path)
    assert resolve_server_url({}, paths) is None
    set_setting("sync", "server_url", "https://from-config.example", paths)
    found = resolve_server_url({}, paths)
    assert found is not None and found.url == "https://from-config.example"
    assert found.source == f"{paths.config_file} [sync] server_url"
    env = {"SPEC_KITTY_SAAS_URL": "http://127.0.0.1:1234/"}
    found = resolve_server_url(env, paths)
    assert found is not None and (found.url, found.source) == (
        "http://127.0.0.1:1234", "SPEC_KITTY_SAAS_URL")
    set_setting("sync", "server_url", "http://insecure.example", paths)
    with pytest.raises(ServerUrlError, match=r"config.toml \[sync\] server_url"):
        resolve_server_url({}, paths)


# -- readiness --------------------------------------------------------------------------


def _ready_paths(tmp_path: Path, *, logged_in: bool = True, url: str | None = None
                 ) -> RuntimePaths:
    paths = RuntimePaths(tmp_path / "rt")
    if logged_in:
        paths.auth_dir.mkdir(parents=True)
        paths.session_file.write_text("{}")
    if url:
        set_setting("sync", "server_url", url, paths)
    return paths


def test_readiness_states_in_order(tmp_path: Path) -> None:
    paths = _ready_paths(tmp_path, logged_in=False)
    off = evaluate_readiness(environ={}, paths=paths)
    assert off.state is ReadinessState.ROLLOUT_DISABLED
    assert off.next_action == "Set `SPEC_KITTY_ENABLE_SAAS_SYNC=1` to opt in."
    auth = evaluate_readiness(environ=ON, paths=paths)
    assert auth.state is ReadinessState.MISSING_AUTH
    assert auth.next_action == "Run `spec-kitty auth login`."
    host = evaluate_readiness(environ=ON, paths=paths, require_auth=False)
    assert host.state is ReadinessState.MISSING_HOST_CONFIG
    assert "SPEC_KITTY_SAAS_URL" in (host.next_action or "")
    assert str(paths.config_file) in (host.next_action or "")
    paths = _ready_paths(tmp_path / "b", url="https://hub.example.com")
    ready = evaluate_readiness(environ=ON, paths=paths)
    assert ready.ready and ready.message == "" and ready.next_action is None
    assert ready.details["server_url"] == "https://hub.example.com"
    ready.raise_unless_ready()
    with pytest.raises(NotReady) as caught:
        auth.raise_unless_ready()
    assert caught.value.code == "MISSING_AUTH" and caught.value.hint == auth.next_action
    assert caught.value.to_json()["readiness"]["state"] == "MISSING_AUTH"


def test_readiness_names_a_bad_url_or_config_and_never_raises(tmp_path: Path) -> None:
    paths = _ready_paths(tmp_path)
    bad_env = evaluate_readiness(environ={**ON, "SPEC_KITTY_SAAS_URL": "http://evil.example"},
                                 paths=paths)
    assert bad_env.state is ReadinessState.MISSING_HOST_CONFIG
    assert "HTTPS is required" in bad_env.message and "error" in bad_env.details
    paths.config_file.write_text("[sync\n")
    broken = evaluate_readiness(environ=ON, paths=paths)
    assert broken.state is ReadinessState.MISSING_HOST_CONFIG
    assert str(paths.config_file) in broken.details["error"]

    def exploding(_paths: RuntimePaths) -> bool:
        raise PermissionError("no access")

    weird = evaluate_readiness(environ={**ON, "SPEC_KITTY_SAAS_URL": "https://h.example"},
                               paths=paths, auth_check=exploding)
    assert weird.state is ReadinessState.MISSING_AUTH and weird.details["error"] == "no access"


class _Head(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_HEAD(self) -> None:  # noqa: N802
        self.seen.append(self.command)
        self.send_response(405)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_reachability_probe_is_one_head_and_opt_in(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Head)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        paths = _ready_paths(tmp_path, url=url)
        assert evaluate_readiness(environ=ON, paths=paths).ready
        assert _Head.seen == []  # no probe unless asked
        assert evaluate_readiness(environ=ON, paths=paths, probe_reachability=True).ready
        assert _Head.seen == ["HEAD"]  # a 405 still proves the hub answers
    finally:
        server.shutdown()
        server.server_close()
    down = evaluate_readiness(environ=ON, paths=paths, probe_reachability=True)
    assert down.state is ReadinessState.HOST_UNREACHABLE
    assert url in down.message and url in (down.next_action or "")
    assert down.details["server_url"] == url and down.details["error"]


def test_mission_binding_is_opt_in_and_read_from_the_project(initialized_repo: Path,
                                                              tmp_path: Path) -> None:
    paths = _ready_paths(tmp_path, url="https://hub.example.com")
    assert evaluate_readiness(environ=ON, paths=paths, repo_root=initialized_repo).ready
    unbound = evaluate_readiness(environ=ON, paths=paths, repo_root=initialized_repo,
                                 mission_slug="todo-01", require_mission_binding=True)
    assert unbound.state is ReadinessState.MISSING_MISSION_BINDING
    assert "`todo-01`" in unbound.message
    assert unbound.next_action == "Run `spec-kitty tracker bind` in this repository."
    config = initialized_repo / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "tracker:\n  provider: linear\n"
                      "  binding_ref: srm_123\n")
    assert evaluate_readiness(environ=ON, paths=paths, repo_root=initialized_repo,
                              require_mission_binding=True).ready
    missing = evaluate_readiness(environ=ON, paths=paths, repo_root=tmp_path / "nowhere",
                                 require_mission_binding=True)
    assert missing.state is ReadinessState.MISSING_MISSION_BINDING
    assert "error" in missing.details


IMPORT_PROBE = """
import sys
from spec_kitty.cli.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("httpx", "cryptography", "tomlkit", "filelock._unix")
               if m in sys.modules)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


def _heavy_imports(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **env})
    return proc.stderr.rsplit("HEAVY=", 1)[1].strip()


def test_hosted_dependencies_load_only_where_a_request_follows(initialized_repo: Path) -> None:
    """Local commands never import httpx or cryptography; `auth status` (local, on a
    budget) decrypts but never imports httpx."""
    from auth_helpers import current_store, sample_session

    for args in (["status", "--all", "--json"], ["mission", "list", "--json"], ["--help"]):
        assert _heavy_imports(args, initialized_repo, ON) == "", args
    assert _heavy_imports(["auth", "status"], initialized_repo, ON) == ""
    store = current_store()
    with store.lock():
        store.save(sample_session())
    assert _heavy_imports(["auth", "status"], initialized_repo, ON) == "cryptography"
