"""Fixtures that run the real team hub: a throwaway PostgreSQL cluster, hub servers.

Imported by conftest.py, so every test can request them. All are session-scoped, so
each xdist worker starts at most one PostgreSQL cluster and one hub per backend.

Fixtures
- ``hub_server``: a running ``spec-kitty-hub serve`` on 127.0.0.1 (ephemeral port),
  parametrized over ``"sqlite"`` and ``"postgresql"``: a test using it runs twice.
- ``sqlite_hub`` / ``postgres_hub``: one backend only (for slow end-to-end tests).
- ``postgres_cluster``: ``PostgresCluster`` (``.url(dbname)``, ``.create_database(name)``).

``HubServer`` (what the hub fixtures yield)
- ``url`` (``http://127.0.0.1:PORT``), ``backend`` (``"sqlite"``/``"postgresql"``),
  ``database_url``, ``http`` (an ``httpx.Client`` with ``base_url=url``).
- ``admin(*args, input=None, check=True)``: runs the real ``spec-kitty-hub`` with
  ``--database`` appended; returns ``CompletedProcess[str]``. Example:
  ``hub.admin("device", "approve", user_code, "--user", email)``.
- ``create_user(email=None, password=None, name=None) -> HubUser`` (unique email by
  default; ``HubUser`` has ``email``, ``password``, ``name``, ``user_id``,
  ``private_team``).
- ``create_team(slug=None, name=None, owner=None, members=()) -> str`` (the slug);
  ``add_member(team, email, role="member")``.
- ``approve_device(user_code, email)``: what ``device approve`` does, in-process.
- ``login(user) -> dict``: the device flow over HTTP, approved in-process; returns the
  token response (``access_token``, ``refresh_token``, ``session_id``, …).
- ``browser(user=None, headers=None) -> httpx.Client``: a cookie-keeping client, signed
  in through the login form when ``user`` is given; ``form_token(html)`` extracts a
  page's CSRF token.
- ``bearer(token) -> dict``: the ``Authorization`` header for a token.
- ``age_rotation(refresh_token)``: move a rotated token's rotation past the grace
  window (presenting it again is then a replay, not a benign retry).

The servers run with ``SPEC_KITTY_HUB_DEVICE_INTERVAL=1`` (clients poll every second),
``SPEC_KITTY_HUB_REFRESH_GRACE_SECONDS=300`` (a just-rotated refresh token gets 409
``refresh_replay_benign_retry`` however slow the machine; tests that need a replay
move ``rotated_at`` back with ``age_rotation``),
``SPEC_KITTY_HUB_LOGIN_LIMIT_ADDRESS=20`` and trust ``X-Forwarded-For`` from 127.0.0.1, so a test can act from its own address
(rate limits are per address). Users and teams are never deleted: use fresh names.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

HUB_BIN = Path(sys.executable).parent / "spec-kitty-hub"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
BACKENDS = ["sqlite", "postgresql"]
ADDRESS_LIMIT = 20  # failed sign-ins per address and 15 minutes on the test hubs
REFRESH_GRACE_SECONDS = 300
# The tracker secrets' encryption key of every test hub (and its admin commands).
TRACKER_KEY = "bG9vcGJhY2stdGVzdC1rZXktb25seS0zMi1ieXRlcyE="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def form_token(html: str) -> str:
    """The CSRF token of the first form on a hub page."""
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _pg_bin() -> Path:
    if (PG_BIN / "initdb").exists():
        return PG_BIN
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert found, "PostgreSQL server binaries are missing: run scripts/ensure-tools.sh"
    return found[-1].parent


class PostgresCluster:
    """A PostgreSQL cluster in a temp dir, run as the ``postgres`` user when we are root,
    listening on 127.0.0.1 only, trust auth, durability off (throwaway)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="sk-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        bin_dir = _pg_bin()
        self._initdb, self._pg_ctl = str(bin_dir / "initdb"), str(bin_dir / "pg_ctl")

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        proc = subprocess.run([*prefix, *argv], capture_output=True, text=True, cwd=self.base)
        assert proc.returncode == 0, f"{argv[0]} failed: {proc.stdout}{proc.stderr}"

    def start(self) -> None:
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        self._run(self._initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run(self._pg_ctl, "-D", str(self.data), "-l", str(self.base / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@dataclass(frozen=True)
class HubUser:
    email: str
    password: str
    name: str
    user_id: int
    private_team: str


@dataclass
class HubServer:
    """A ``spec-kitty-hub serve`` subprocess and helpers to arrange its data."""

    backend: str
    database_url: str
    workdir: Path
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    _http: httpx.Client | None = None
    _db: Any = field(default=None, repr=False)
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SPEC_KITTY_HUB_DEVICE_INTERVAL": "1",
                "SPEC_KITTY_HUB_REFRESH_GRACE_SECONDS": str(REFRESH_GRACE_SECONDS),
                "SPEC_KITTY_HUB_TRACKER_KEY": TRACKER_KEY, "SPEC_KITTY_HUB_JOB_POLL": "0.2",
                "SPEC_KITTY_HUB_LOGIN_LIMIT_ADDRESS": str(ADDRESS_LIMIT)}

    def start(self, *extra: str) -> None:
        log = self.workdir / f"hub-{self.backend}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(HUB_BIN), "serve", "--port", "0", "--database", self.database_url,
                 "--log-level", "warning", "--forwarded-allow-ips", "127.0.0.1", *extra],
                stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 60
        while not self.url:
            text = log.read_text(errors="replace")
            if text.startswith("spec-kitty-hub listening on "):
                self.url = text.split()[3]
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the hub did not start:\n{text}")
            else:
                time.sleep(0.05)
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        if self._http is not None:
            self._http.close()
        if self._db is not None:
            self._db.dispose()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, timeout=30, trust_env=False)
        return self._http

    @property
    def db(self) -> Any:
        """The hub's database, opened in this process (``spec_kitty_hub.db.engine.Database``)."""
        if self._db is None:
            from spec_kitty_hub.db.engine import Database

            self._db = Database(self.database_url)
        return self._db

    def admin(self, *args: str, input: str | None = None,
              check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(HUB_BIN), *args, "--database", self.database_url],
                              input=input, capture_output=True, text=True, env=self.env,
                              timeout=120)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def create_user(self, email: str | None = None, password: str | None = None,
                    name: str | None = None) -> HubUser:
        from spec_kitty_hub.services.accounts import create_user

        email = email or f"{unique('user')}@example.com"
        password = password or f"pw-{uuid.uuid4().hex}"
        with self.db.write() as session:
            user, team = create_user(session, email, name or "", password)
            return HubUser(email=user.email, password=password, name=user.name,
                           user_id=user.id, private_team=team.slug)

    def create_team(self, slug: str | None = None, name: str | None = None,
                    owner: str | None = None, members: tuple[str, ...] = ()) -> str:
        from spec_kitty_hub.services.accounts import add_member, create_team

        slug = slug or unique("team")
        with self.db.write() as session:
            create_team(session, slug, name or slug.title(), owner)
            for email in members:
                add_member(session, slug, email, "member")
        return slug

    def add_member(self, team: str, email: str, role: str = "member") -> None:
        from spec_kitty_hub.services.accounts import add_member

        with self.db.write() as session:
            add_member(session, team, email, role)

    def approve_device(self, user_code: str, email: str) -> None:
        from spec_kitty_hub.services.accounts import get_user
        from spec_kitty_hub.services.grants import decide_device

        with self.db.write() as session:
            decide_device(session, user_code, get_user(session, email), approve=True)

    def start_device(self) -> dict[str, Any]:
        response = self.http.post("/oauth/device", data={"client_id": "cli_native",
                                                         "scope": "offline_access"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def login(self, user: HubUser) -> dict[str, Any]:
        started = self.start_device()
        self.approve_device(started["user_code"], user.email)
        response = self.http.post("/oauth/token", data={
            "grant_type": DEVICE_GRANT, "device_code": started["device_code"],
            "client_id": "cli_native"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def browser(self, user: HubUser | None = None,
                headers: dict[str, str] | None = None) -> httpx.Client:
        """A cookie-keeping client, signed in through the real login form when ``user``
        is given (redirects are not followed)."""
        client = httpx.Client(base_url=self.url, timeout=30, trust_env=False,
                              headers=headers)
        self._clients.append(client)
        if user is not None:
            response = client.post("/login", data={
                "email": user.email, "password": user.password, "next": "/",
                "csrf_token": form_token(client.get("/login").text)})
            assert response.status_code == 303, response.text
            assert "hub_session" in client.cookies
        return client

    def age_rotation(self, refresh_token: str) -> None:
        """Move a rotated refresh token's rotation an hour back, past the grace window,
        so presenting it again is a replay."""
        from datetime import timedelta

        from sqlalchemy import update

        from spec_kitty_hub.db.models import RefreshToken, utcnow
        from spec_kitty_hub.security import token_hash

        with self.db.write() as session:
            aged = session.execute(
                update(RefreshToken)
                .where(RefreshToken.token_hash == token_hash(refresh_token),
                       RefreshToken.rotated_at.is_not(None))
                .values(rotated_at=utcnow() - timedelta(hours=1))).rowcount
        assert aged == 1, "that refresh token has not been rotated"

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


class _Hubs:
    """Starts each backend's hub on first use; stops everything at session end."""

    def __init__(self, factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> None:
        self._factory = factory
        self._request = request
        self._servers: dict[str, HubServer] = {}
        self.cluster: PostgresCluster | None = None

    def postgres(self) -> PostgresCluster:
        if self.cluster is None:
            self.cluster = PostgresCluster()
            try:
                self.cluster.start()
            except BaseException:
                self.cluster.stop()
                raise
        return self.cluster

    def get(self, backend: str) -> HubServer:
        if backend not in self._servers:
            workdir = self._factory.mktemp(f"hub-{backend}")
            if backend == "sqlite":
                url = f"sqlite:///{workdir / 'hub.sqlite3'}"
            else:
                url = self.postgres().create_database(unique("hub").replace("-", "_"))
                migrated = subprocess.run([str(HUB_BIN), "migrate", "--database", url],
                                          capture_output=True, text=True)
                assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            server = HubServer(backend=backend, database_url=url, workdir=workdir)
            self._servers[backend] = server
            server.start()
        return self._servers[backend]

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        if self.cluster is not None:
            self.cluster.stop()


@pytest.fixture(scope="session")
def hub_registry(tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Iterator[_Hubs]:
    hubs = _Hubs(tmp_path_factory, request)
    try:
        yield hubs
    finally:
        hubs.close()


@pytest.fixture(scope="session")
def postgres_cluster(hub_registry: _Hubs) -> PostgresCluster:
    return hub_registry.postgres()


@pytest.fixture(scope="session", params=BACKENDS)
def hub_server(request: pytest.FixtureRequest, hub_registry: _Hubs) -> HubServer:
    return hub_registry.get(str(request.param))


@pytest.fixture(scope="session")
def sqlite_hub(hub_registry: _Hubs) -> HubServer:
    return hub_registry.get("sqlite")


@pytest.fixture(scope="session")
def postgres_hub(hub_registry: _Hubs) -> HubServer:
    return hub_registry.get("postgresql")
