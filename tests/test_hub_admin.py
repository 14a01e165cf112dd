"""The operator's commands (`spec-kitty-hub ...`) as subprocesses, on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hub_fixtures import DEVICE_GRANT, HUB_BIN, HubServer, PostgresCluster, form_token, unique

pytestmark = pytest.mark.hub


def as_json(proc: subprocess.CompletedProcess[str]) -> dict:
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    return json.loads(lines[0])


def test_user_add_reads_the_password_from_stdin(hub_server: HubServer) -> None:
    email = f"{unique('Ada')}@Example.com"
    added = as_json(hub_server.admin("user", "add", email, "--name", "Ada L", "--json",
                                     input="correct horse battery\n"))
    assert added["email"] == email.lower() and added["name"] == "Ada L"
    assert added["private_team"].endswith("-space")
    client = hub_server.browser()
    signed_in = client.post("/login", data={
        "email": email, "password": "correct horse battery", "next": "/",
        "csrf_token": form_token(client.get("/login").text)})
    assert signed_in.status_code == 303
    listed = as_json(hub_server.admin("user", "list", "--json"))
    assert {"user_id": added["user_id"], "email": email.lower(), "name": "Ada L",
            "active": True} in listed["users"]
    assert email.lower() in hub_server.admin("user", "list").stdout


@pytest.mark.parametrize(("args", "stdin", "code"), [
    (["user", "add", "not-an-email"], "long enough pw\n", "BAD_EMAIL"),
    (["user", "add", "short@example.com"], "short\n", "WEAK_PASSWORD"),
    (["user", "add", "nopw@example.com"], "", "NO_PASSWORD"),
    (["user", "disable", "ghost@example.com"], None, "USER_NOT_FOUND"),
    (["team", "add", "Bad Slug!"], None, "BAD_SLUG"),
    (["team", "member", "add", "no-such-team", "x@example.com"], None, "TEAM_NOT_FOUND"),
    (["device", "approve", "ABCD-EFGH", "--user", "ghost@example.com"], None,
     "USER_NOT_FOUND"),
    (["device", "deny", "ABCD-EFGH"], None, "DEVICE_CODE_INVALID"),
])
def test_admin_errors_are_clear_and_exit_1(hub_server: HubServer, args: list[str],
                                           stdin: str | None, code: str) -> None:
    proc = hub_server.admin(*args, "--json", input=stdin, check=False)
    assert proc.returncode == 1
    body = as_json(proc)
    assert body["error_code"] == code and body["error"]
    human = hub_server.admin(*args, input=stdin, check=False)
    assert human.returncode == 1 and human.stderr.startswith("error: ")
    assert "Traceback" not in human.stderr
    if code == "USER_NOT_FOUND":  # says how to find or create the account
        assert "spec-kitty-hub user list" in body["error"] and "user add" in body["error"]


def test_serve_on_a_busy_port_says_how_to_pick_another(hub_server: HubServer) -> None:
    port = hub_server.url.rsplit(":", 1)[1].rstrip("/")
    proc = hub_server.admin("serve", "--port", port, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Cannot listen" in proc.stderr and "--port" in proc.stderr, proc.stderr


def test_device_deny_ends_the_flow_with_access_denied(hub_server: HubServer) -> None:
    started = hub_server.start_device()
    poll = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"],
            "client_id": "cli_native"}
    code = started["user_code"].lower().replace("-", "")  # typed loosely, as people do
    denied = as_json(hub_server.admin("device", "deny", code, "--json"))
    assert denied == {"user_code": code, "denied": True}
    answer = hub_server.http.post("/oauth/token", data=poll)
    assert (answer.status_code, answer.json()["error"]) == (400, "access_denied")
    again = hub_server.admin("device", "deny", code, "--json", check=False)
    assert again.returncode == 1 and as_json(again)["error_code"] == "DEVICE_CODE_INVALID"
    user = hub_server.create_user()
    late = hub_server.admin("device", "approve", code, "--user", user.email, "--json",
                            check=False)  # a denied code cannot be approved afterwards
    assert as_json(late)["error_code"] == "DEVICE_CODE_INVALID"
    approved = hub_server.start_device()
    hub_server.admin("device", "approve", approved["user_code"], "--user", user.email)
    refused = hub_server.admin("device", "deny", approved["user_code"], check=False)
    assert refused.returncode == 1 and "not valid" in refused.stderr
    plain = hub_server.start_device()
    out = hub_server.admin("device", "deny", plain["user_code"])
    assert out.stdout.strip() == f"denied {plain['user_code']}"


def test_users_are_unique(hub_server: HubServer) -> None:
    user = hub_server.create_user()
    again = hub_server.admin("user", "add", user.email.upper(), "--json",
                             input="another password\n", check=False)
    assert again.returncode == 1 and as_json(again)["error_code"] == "USER_EXISTS"


def test_teams_and_roles(hub_server: HubServer) -> None:
    owner, member = hub_server.create_user(), hub_server.create_user()
    slug = unique("acme")
    created = as_json(hub_server.admin("team", "add", slug, "--name", "Acme Corp",
                                       "--owner", owner.email, "--json"))
    assert created == {"id": slug, "name": "Acme Corp", "owner": owner.email}
    dup = hub_server.admin("team", "add", slug, "--json", check=False)
    assert as_json(dup)["error_code"] == "TEAM_EXISTS"
    hub_server.admin("team", "member", "add", slug, member.email, "--role", "member")
    teams = {t["id"]: t for t in as_json(hub_server.admin("team", "list", "--json"))["teams"]}
    assert teams[slug] == {"id": slug, "name": "Acme Corp", "members": 2,
                           "is_private_teamspace": False}
    assert teams[owner.private_team]["is_private_teamspace"] is True
    last = hub_server.admin("team", "member", "remove", slug, owner.email, "--json",
                            check=False)
    assert as_json(last)["error_code"] == "LAST_OWNER"
    promoted = as_json(hub_server.admin("team", "member", "add", slug, member.email,
                                        "--role", "owner", "--json"))
    assert promoted["role"] == "owner"
    hub_server.admin("team", "member", "remove", slug, owner.email)
    tokens = hub_server.login(owner)
    me = hub_server.http.get("/api/v1/me", headers=hub_server.bearer(tokens["access_token"]))
    assert [t["id"] for t in me.json()["teams"]] == [owner.private_team]
    private = hub_server.admin("team", "member", "add", owner.private_team, member.email,
                               "--json", check=False)
    assert as_json(private)["error_code"] == "PRIVATE_TEAMSPACE"
    gone = hub_server.admin("team", "member", "remove", slug, owner.email, "--json",
                            check=False)
    assert as_json(gone)["error_code"] == "NOT_A_MEMBER"
    bad_role = hub_server.admin("team", "member", "add", slug, member.email, "--role", "boss",
                                check=False)
    assert bad_role.returncode == 2


def test_migrate_is_idempotent_and_the_schema_matches_the_models(
        hub_server: HubServer) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import spec_kitty_hub.db.tracker_tables  # noqa: F401 - registers the tracker tables
    from spec_kitty_hub.db import sync_models  # noqa: F401
    from spec_kitty_hub.db.migrate import head_revision
    from spec_kitty_hub.db.models import Base

    again = as_json(hub_server.admin("migrate", "--json"))
    assert again["from"] == again["to"] == head_revision()
    with hub_server.db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_embedded_default_needs_no_setup(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("SPEC_KITTY_HUB_DATABASE_URL", None)
    added = subprocess.run([str(HUB_BIN), "user", "add", "first@example.com", "--json"],
                           input="first password\n", capture_output=True, text=True, env=env)
    assert added.returncode == 0, added.stderr
    database = tmp_path / "data" / "spec-kitty-hub" / "hub.sqlite3"
    assert database.exists()
    assert oct(database.parent.stat().st_mode & 0o777) == "0o700"
    import sqlite3

    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_database_can_come_from_the_environment(hub_server: HubServer) -> None:
    """``SPEC_KITTY_HUB_DATABASE_URL`` stands in for ``--database`` (how the workers of
    one ``serve`` and a systemd unit's environment file name the database)."""
    user = hub_server.create_user()
    env = {**hub_server.env, "SPEC_KITTY_HUB_DATABASE_URL": hub_server.database_url}
    listed = subprocess.run([str(HUB_BIN), "user", "list", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert user.email in {u["email"] for u in as_json(listed)["users"]}
    env["SPEC_KITTY_HUB_DATABASE_URL"] = "mysql://root@db/x"
    refused = subprocess.run([str(HUB_BIN), "user", "list", "--json"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and as_json(refused)["error_code"] == "BAD_DATABASE_URL"


def test_database_passwords_never_reach_output() -> None:
    from spec_kitty_hub.config import normalize_database_url, redact_url

    assert redact_url("postgresql://kit:s3cret@db:5432/hub") == "postgresql://kit:***@db:5432/hub"
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert normalize_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("/tmp/hub.db") == "sqlite:////tmp/hub.db"


def test_bad_database_urls_are_named(tmp_path: Path) -> None:
    proc = subprocess.run([str(HUB_BIN), "user", "list", "--json", "--database",
                           "mysql://root:hunter2@db/x"], capture_output=True, text=True)
    assert proc.returncode == 1
    body = as_json(proc)
    assert body["error_code"] == "BAD_DATABASE_URL" and "hunter2" not in proc.stdout


def test_serve_refuses_an_unmigrated_postgresql_database(
        postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.create_database(unique("fresh").replace("-", "_"))
    proc = subprocess.run([str(HUB_BIN), "serve", "--port", "0", "--database", url],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "spec-kitty-hub migrate" in proc.stderr


def test_several_hub_processes_share_nothing_but_the_database(
        postgres_hub: HubServer, tmp_path: Path) -> None:
    """A second hub with two workers on the same PostgreSQL database: a device flow
    started on one and a sign-in form from one complete on the other."""
    other = HubServer(backend="postgresql", database_url=postgres_hub.database_url,
                      workdir=tmp_path)
    other.start("--workers", "2")
    try:
        user = postgres_hub.create_user()
        started = postgres_hub.start_device()
        postgres_hub.approve_device(started["user_code"], user.email)
        tokens = other.http.post("/oauth/token", data={
            "grant_type": DEVICE_GRANT, "device_code": started["device_code"],
            "client_id": "cli_native"})
        assert tokens.status_code == 200, tokens.text
        access = tokens.json()["access_token"]
        for _ in range(6):  # several requests: both workers answer some of them
            me = other.http.get("/api/v1/me", headers=other.bearer(access))
            assert me.json()["email"] == user.email
        assert postgres_hub.http.get("/api/v1/me",
                                     headers=postgres_hub.bearer(access)).status_code == 200
        with httpx.Client(trust_env=False, timeout=30) as browser:
            page = browser.get(f"{postgres_hub.url}/login")
            signed_in = browser.post(f"{other.url}/login", data={
                "email": user.email, "password": user.password, "next": "/",
                "csrf_token": form_token(page.text)})
            assert signed_in.status_code == 303
            assert browser.get(f"{postgres_hub.url}/").status_code == 200
    finally:
        started_at = time.monotonic()
        other.stop()
        assert other.process is not None and other.process.returncode == 0  # graceful
        assert time.monotonic() - started_at < 60


def test_version_and_help() -> None:
    version = subprocess.run([sys.executable, "-m", "spec_kitty_hub", "--version"],
                             capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("spec-kitty-hub ")
    helped = subprocess.run([str(HUB_BIN), "--help"], capture_output=True, text=True)
    for command in ("serve", "migrate", "user", "team", "device"):
        assert command in helped.stdout
    device = subprocess.run([str(HUB_BIN), "device", "--help"], capture_output=True,
                            text=True)
    assert "approve" in device.stdout and "deny" in device.stdout
