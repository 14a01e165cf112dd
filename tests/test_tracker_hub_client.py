"""The CLI's hub tracker client over the authenticated client, against a real hub.

Rules under test (docs/trackers.md "Hub-backed client"): one durable Idempotency-Key
per logical write, 401 → one refresh and one retry, 429 honoured once, 202 polled with
a persisted deadline (then "recovery required", never a blind re-send), network
errors at once, both error-envelope spellings.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub_fixtures import HubServer
from spec_kitty.auth.session import DEVICE, Identity, Session, TokenGrant, utc_now
from spec_kitty.auth.storage import SessionStore
from spec_kitty.auth.transport import authenticated_client
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.tracker.attempts import AttemptStore
from spec_kitty.tracker.errors import TrackerError
from spec_kitty.tracker.hub.client import (
    HttpHubTrackerClient,
    default_jitter,
    error_from,
    tracker_team,
)
from spec_kitty.tracker.hub.service import Routing
from tracker_hub_helpers import TrackerTeam, wp_item
from tracker_hub_helpers import tracker_team as make_team

from doubles.github import GitHubDouble

pytestmark = pytest.mark.hub


class Recorder(httpx.BaseTransport):
    """The real transport, recording each request; can lose the next answer (a cut)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[httpx.Request] = []
        self.cut_next_answer = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        response = self.inner.handle_request(request)
        if self.cut_next_answer:
            self.cut_next_answer = False
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def posts(self, path: str) -> list[httpx.Request]:
        return [r for r in self.sent if r.method == "POST" and r.url.path.endswith(path)]


@pytest.fixture
def logged_in(hub_server: HubServer, github_double: GitHubDouble,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TrackerTeam, Recorder]]:
    """A tracker team on the hub, and this test's runtime root logged in to it."""
    team = make_team(hub_server, github_double)
    monkeypatch.setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
    monkeypatch.setenv("SPEC_KITTY_SAAS_URL", hub_server.url)
    now = utc_now()
    me = hub_server.http.get("/api/v1/me", headers=hub_server.bearer(
        team.tokens["access_token"])).json()
    session = Session.create(hub_server.url, TokenGrant.from_json(team.tokens, now),
                             Identity.from_json(me), DEVICE, now)
    SessionStore(RuntimePaths.current()).save(session)
    yield team, Recorder()


def _client(recorder: Recorder, team: TrackerTeam, **options: Any) -> HttpHubTrackerClient:
    http = authenticated_client(RuntimePaths.current(), inner=recorder)
    return HttpHubTrackerClient(http, team.team, **options)


class FakeTime:
    """A clock that moves only when read (by ``step``) or slept on. ``real`` makes each
    fake second cost that many real seconds (capped at 1), so the hub's worker gets
    real time to finish a job while the client's deadline runs on fake time."""

    def __init__(self, start: float, step: float = 0.0, real: float = 0.0) -> None:
        self.t, self.step, self.real = start, step, real
        self.sleeps: list[float] = []

    def now(self) -> float:
        self.t += self.step
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        if self.real:
            time.sleep(min(seconds * self.real, 1.0))


def test_push_polls_a_202_to_completion_with_doubling_delays(
        logged_in: tuple[TrackerTeam, Recorder], github_double: GitHubDouble) -> None:
    team, recorder = logged_in
    ref = team.bind()
    clock = FakeTime(1e9, real=0.1)
    client = _client(recorder, team, prefer_async=True, sleep=clock.sleep, now=clock.now,
                     jitter=lambda: 1.0, timeout=300)
    result = client.push("github", Routing(ref), [wp_item("m", "WP01")])
    assert result["items"][0]["outcome"] == "created"
    assert clock.sleeps[0] == 1.0 and all(b == min(a * 2, 30) for a, b in
                                          zip(clock.sleeps, clock.sleeps[1:], strict=False))
    sent = recorder.sent[0]
    assert sent.headers["X-Team-Slug"] == team.team
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert len(github_double.issues) == 1


def test_a_lost_answer_fails_at_once_and_the_retry_reuses_the_key(
        logged_in: tuple[TrackerTeam, Recorder], github_double: GitHubDouble) -> None:
    team, recorder = logged_in
    ref = team.bind()
    client = _client(recorder, team)
    items = [wp_item("m", "WP07")]
    recorder.cut_next_answer = True
    with pytest.raises(TrackerError) as cut:
        client.push("github", Routing(ref), items)
    assert cut.value.code == "HUB_UNREACHABLE" and "Cannot reach the team hub" in cut.value.message
    assert len(recorder.posts("/push/")) == 1  # no automatic retry
    again = client.push("github", Routing(ref), items)
    first, second = recorder.posts("/push/")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert again["items"][0]["outcome"] == "created"
    assert len(github_double.issues) == 1  # the hub replayed the first job


def test_past_the_persisted_deadline_the_answer_is_recovery_required(
        logged_in: tuple[TrackerTeam, Recorder], tmp_path: Path) -> None:
    team, recorder = logged_in
    ref = team.bind()
    attempts = AttemptStore(tmp_path / "attempts.json")
    items = [wp_item("m", "WP02")]
    jumpy = FakeTime(1e9, step=200.0)  # every look at the clock is 200 s later
    client = _client(recorder, team, prefer_async=True, attempts=attempts, sleep=jumpy.sleep,
                     now=jumpy.now)
    with pytest.raises(TrackerError) as late:
        client.push("github", Routing(ref), items)
    assert late.value.code == "RECOVERY_REQUIRED" and late.value.details["operation_id"]
    assert len(recorder.posts("/push/")) == 1
    # Within the persisted deadline, a retry resumes polling the same operation.
    calm = FakeTime(1e9, real=0.1)
    resumed = _client(recorder, team, attempts=attempts, sleep=calm.sleep, now=calm.now)
    assert resumed.push("github", Routing(ref), items)["items"][0]["outcome"] == "created"
    assert len(recorder.posts("/push/")) == 1


class StuckHub:
    """A hub answering push with 202 and its operation with whatever ``state`` says:
    the one way to hold an operation in ``running`` for as long as a test needs."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"status": "running"}
        self.sent: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        if request.method == "POST":
            return httpx.Response(202, json={"operation_id": "op-1", "status": "pending"})
        return httpx.Response(200, json={"operation_id": "op-1", **self.state})


def _stand_in_client(hub: Any, attempts: AttemptStore, clock: FakeTime
                     ) -> HttpHubTrackerClient:
    """A client talking to an in-process stand-in hub on the given clock."""
    return HttpHubTrackerClient(
        httpx.Client(base_url="http://hub.test", transport=httpx.MockTransport(hub)), "t",
        attempts=attempts, sleep=clock.sleep, now=clock.now)


def test_a_rerun_past_the_deadline_checks_once_and_never_resends(tmp_path: Path) -> None:
    hub = StuckHub()
    attempts = AttemptStore(tmp_path / "attempts.json")
    jumpy = FakeTime(1e9, step=200.0)  # the persisted deadline is always already past
    client = _stand_in_client(hub, attempts, jumpy)
    items = [wp_item("m", "WP03")]
    with pytest.raises(TrackerError) as late:
        client.push("github", Routing("srm_1"), items)
    assert late.value.code == "RECOVERY_REQUIRED"
    assert hub.sent == [("POST", "/api/v1/tracker/push/")]
    # Re-run, still running: one look at the operation, then recovery required again.
    with pytest.raises(TrackerError, match="Recovery required"):
        client.push("github", Routing("srm_1"), items)
    assert hub.sent[1:] == [("GET", "/api/v1/tracker/operations/op-1/")]
    # Re-run once the hub has finished: the outcome, without sending the push again.
    hub.state = {"status": "completed", "result": {"status": "ok", "items": []}}
    assert client.push("github", Routing("srm_1"), items) == {"status": "ok", "items": []}
    assert [method for method, _ in hub.sent].count("POST") == 1
    assert jumpy.sleeps == []  # never waited: the deadline had passed
    # The attempt is over: the next push of the same items is a new operation.
    hub.state = {"status": "running"}
    with pytest.raises(TrackerError):
        client.push("github", Routing("srm_1"), items)
    assert [method for method, _ in hub.sent].count("POST") == 2


class ForgetfulHub:
    """A hub that accepts each push with 202 and then no longer knows the operation
    (404 ``operation_not_found``, as after a purge or a restore), unless ``result`` is
    set, which answers pushes with 200 at once. Records method, path and key."""

    def __init__(self) -> None:
        self.result: dict[str, Any] | None = None
        self.not_found_code = "operation_not_found"
        self.sent: list[tuple[str, str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path,
                          request.headers.get("Idempotency-Key")))
        if request.method == "POST":
            if self.result is not None:
                return httpx.Response(200, json=self.result)
            return httpx.Response(202, json={"operation_id": f"op-{len(self.sent)}",
                                             "status": "pending"})
        return httpx.Response(404, json={"error_code": self.not_found_code,
                                         "message": "No such operation."})


def test_a_resumed_operation_the_hub_does_not_know_is_resent_once_with_its_key(
        tmp_path: Path) -> None:
    hub = ForgetfulHub()
    attempts = AttemptStore(tmp_path / "attempts.json")
    jumpy = FakeTime(1e9, step=200.0)  # the persisted deadline is always already past
    client = _stand_in_client(hub, attempts, jumpy)
    items = [wp_item("m", "WP04")]
    with pytest.raises(TrackerError, match="Recovery required"):
        client.push("github", Routing("srm_1"), items)
    key = hub.sent[0][2]
    assert key and hub.sent == [("POST", "/api/v1/tracker/push/", key)]
    # A 404 for the team is not "operation unknown": no re-send, the attempt is kept.
    hub.not_found_code = "team_not_found"
    with pytest.raises(TrackerError) as team_gone:
        client.push("github", Routing("srm_1"), items)
    assert team_gone.value.code == "TEAM_NOT_FOUND"
    assert [m for m, _, _ in hub.sent].count("POST") == 1
    # The hub forgot the operation: one look, then the same request with the same key.
    hub.not_found_code = "operation_not_found"
    hub.result = {"status": "ok", "items": [{"outcome": "created"}]}
    assert client.push("github", Routing("srm_1"), items) == hub.result
    assert hub.sent[2:] == [("GET", "/api/v1/tracker/operations/op-1/", None),
                            ("POST", "/api/v1/tracker/push/", key)]
    assert key not in attempts.path.read_text()  # the attempt is over
    # Re-sent once only: when the re-sent request's operation is unknown too, the error
    # is reported (and the next run tries once more), never a loop.
    hub.result = None
    more = [wp_item("m", "WP05")]
    with pytest.raises(TrackerError, match="Recovery required"):
        client.push("github", Routing("srm_1"), more)
    first = len(hub.sent)
    patient = _stand_in_client(hub, attempts, FakeTime(1e9))
    with pytest.raises(TrackerError) as unknown:
        patient.push("github", Routing("srm_1"), more)
    assert unknown.value.code == "OPERATION_NOT_FOUND"
    methods = [m for m, _, _ in hub.sent[first:]]
    assert methods == ["GET", "POST", "GET"]
    assert len({k for m, _, k in hub.sent[first - 1:] if m == "POST"}) == 1  # one key


def test_a_real_hub_replays_the_resent_request_without_a_duplicate(
        logged_in: tuple[TrackerTeam, Recorder], github_double: GitHubDouble,
        tmp_path: Path) -> None:
    team, recorder = logged_in
    ref = team.bind()
    attempts = AttemptStore(tmp_path / "attempts.json")
    items = [wp_item("m", "WP06")]
    jumpy = FakeTime(1e9, step=200.0)
    client = _client(recorder, team, prefer_async=True, attempts=attempts, sleep=jumpy.sleep,
                     now=jumpy.now)
    with pytest.raises(TrackerError) as late:
        client.push("github", Routing(ref), items)
    assert late.value.code == "RECOVERY_REQUIRED"
    # The record now names an operation this hub does not know (404 operation_not_found).
    records = json.loads(attempts.path.read_text())
    (record,) = records.values()
    record["operation_id"] = str(uuid.uuid4())
    attempts.path.write_text(json.dumps(records))
    calm = FakeTime(1e9, real=0.1)
    resumed = _client(recorder, team, attempts=attempts, sleep=calm.sleep, now=calm.now)
    assert resumed.push("github", Routing(ref), items)["items"][0]["outcome"] == "created"
    first, second = recorder.posts("/push/")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] \
        == record["key"]
    assert len(github_double.issues) == 1  # the hub replayed its job: no second issue


def test_the_default_poll_jitter_is_uniform_in_the_half_open_range(tmp_path: Path) -> None:
    client = HttpHubTrackerClient(httpx.Client(base_url="http://hub.test"), "t",
                                  attempts=AttemptStore(tmp_path / "attempts.json"))
    assert client.jitter is default_jitter  # what polling uses unless a test injects one
    assert default_jitter(lambda: 0.0) == 0.8
    assert default_jitter(lambda: 0.5) == pytest.approx(1.0)
    # The largest random() value: 0.8 + 0.4 * r rounds to 1.2, which is outside [0.8, 1.2).
    assert 1.19 < default_jitter(lambda: 1 - 2**-53) < 1.2
    factors = [default_jitter() for _ in range(2000)]
    assert all(0.8 <= factor < 1.2 for factor in factors)
    assert min(factors) < 0.85 and max(factors) > 1.15  # spread over the range, not fixed


def test_429_is_honoured_once(logged_in: tuple[TrackerTeam, Recorder],
                              github_double: GitHubDouble) -> None:
    team, recorder = logged_in
    ref = team.bind()
    clock = FakeTime(1e9)
    client = _client(recorder, team, sleep=clock.sleep, now=clock.now)
    # GitHub's budget is spent for two minutes: longer than the hub waits in-process.
    github_double.faults.rate_limit_once(kind="primary", reset_in=120, status=403)
    pulled = client.pull("github", Routing(ref), limit=5)
    assert pulled["status"] == "ok" and 100 <= clock.sleeps[0] <= 121
    github_double.faults.rate_limit_once(kind="primary", reset_in=120, status=403)
    github_double.faults.rate_limit_once(kind="primary", reset_in=120, status=403)
    with pytest.raises(TrackerError) as limited:
        client.pull("github", Routing(ref), limit=5)
    assert limited.value.code == "RATE_LIMITED"
    assert len(clock.sleeps) == 2 and len(recorder.posts("/pull/")) == 4


def test_401_refreshes_once_and_retries_once(logged_in: tuple[TrackerTeam, Recorder],
                                             hub_server: HubServer) -> None:
    team, recorder = logged_in
    store = SessionStore(RuntimePaths.current())
    with store.lock():
        stale = store.load()
        assert stale is not None
        store.save(dataclasses.replace(stale, access_token="revoked-or-unknown"))
    client = _client(recorder, team)
    assert client.status("github", None)["connected"] is True
    assert [r.url.path for r in recorder.sent] == ["/api/v1/tracker/status/"] * 2
    fresh = store.load()
    assert fresh is not None and fresh.refresh_token != stale.refresh_token
    hub_server.http.post("/oauth/revoke", data={"token": fresh.refresh_token,
                                                "client_id": "cli_native"})
    with store.lock():
        store.save(dataclasses.replace(fresh, access_token="revoked-or-unknown"))
    with pytest.raises(TrackerError) as expired:
        _client(recorder, team).status("github", None)
    assert expired.value.code == "SESSION_EXPIRED"
    assert expired.value.message.startswith("Session expired. Run `spec-kitty auth login`")


@pytest.mark.parametrize("body", [
    {"code": "binding_not_found", "category": "client", "message": "gone",
     "user_action_required": True},
    {"error_code": "binding_not_found", "error_category": "client", "message": "gone",
     "user_action_required": True},
])
def test_both_error_envelope_spellings_are_read(body: dict[str, Any]) -> None:
    error = error_from(httpx.Response(404, json=body), "github")
    assert error.code == "BINDING_NOT_FOUND" and error.details["category"] == "client"
    assert "spec-kitty tracker bind --provider github" in error.message
    assert error.message.endswith("(action required — check the team hub)")
    plain = error_from(httpx.Response(404, json={"error": "team_not_found",
                                                 "error_description": "No team."}))
    assert (plain.code, plain.message) == ("TEAM_NOT_FOUND", "No team.")


def test_the_tracker_team_is_the_only_shared_team_or_the_chosen_one() -> None:
    assert tracker_team([("me", True), ("acme", False)], None) == "acme"
    assert tracker_team([("me", True)], None) == "me"
    assert tracker_team([("me", True), ("a", False), ("b", False)], "b") == "b"
    with pytest.raises(TrackerError, match="several teams"):
        tracker_team([("me", True), ("a", False), ("b", False)], None)


def _project(tmp_path: Path, slug: str = "shop") -> Path:
    root = tmp_path / slug
    (root / ".kittify").mkdir(parents=True)
    (root / ".kittify" / "config.yaml").write_text(
        f"project:\n  uuid: {uuid.uuid4()}\n  slug: {slug}\n")
    return root


def test_bind_rules_candidates_rebind_ref_and_selection(
        logged_in: tuple[TrackerTeam, Recorder], tmp_path: Path) -> None:
    from spec_kitty.tracker.config import load_binding
    from spec_kitty.tracker.hub import bind as hub_bind

    team, recorder = logged_in
    client = _client(recorder, team)
    root = _project(tmp_path)
    offered: list[list[dict[str, Any]]] = []

    def choose(candidates: list[dict[str, Any]]) -> int:
        offered.append(candidates)
        return 1

    first = hub_bind.bind_through_hub(root, "github", client, choose=choose,
                                      confirm=lambda q: pytest.fail(q))
    assert first.binding_ref and offered[0][0]["sort_position"] == 0
    assert load_binding(root).provider_context["resource_type"] == "github_repo"
    with pytest.raises(TrackerError) as kept:
        hub_bind.bind_through_hub(root, "github", client, choose=choose, confirm=lambda q: False)
    assert kept.value.code == "TRACKER_BIND_DECLINED"
    again = hub_bind.bind_through_hub(root, "github", client, choose=choose,
                                      confirm=lambda q: True)
    assert again.binding_ref == first.binding_ref and len(offered) == 1  # exact match
    with pytest.raises(TrackerError) as invalid:
        hub_bind.bind_through_hub(root, "github", client, bind_ref="srm_nope", choose=choose,
                                  confirm=lambda q: True)
    assert invalid.value.code == "TRACKER_BINDING_INVALID"
    assert invalid.value.details["reason"] == "mapping_deleted"
    other = _project(tmp_path, "other")
    with pytest.raises(TrackerError) as mismatch:  # another project's binding
        hub_bind.bind_through_hub(other, "github", client, bind_ref=str(first.binding_ref),
                                  choose=choose, confirm=lambda q: True)
    assert mismatch.value.details["reason"] == "project_mismatch"
    assert hub_bind.bind_through_hub(root, "github", client, bind_ref=str(first.binding_ref),
                                     choose=choose, confirm=lambda q: True).binding_ref
    with pytest.raises(TrackerError) as out_of_range:
        hub_bind.bind_through_hub(other, "github", client, select=2, choose=choose,
                                  confirm=lambda q: True)
    assert out_of_range.value.code == "TRACKER_SELECT_OUT_OF_RANGE"
    selected = hub_bind.bind_through_hub(other, "github", client, select=1, choose=choose,
                                         confirm=lambda q: True)
    assert selected.binding_ref != first.binding_ref


def test_a_team_without_connections_has_nothing_to_bind(
        logged_in: tuple[TrackerTeam, Recorder], tmp_path: Path) -> None:
    from spec_kitty.tracker.hub import bind as hub_bind

    team, recorder = logged_in
    store = SessionStore(RuntimePaths.current())
    session = store.load()
    assert session is not None
    private = next(t.id for t in session.teams if t.is_private_teamspace)
    client = HttpHubTrackerClient(authenticated_client(RuntimePaths.current(), inner=recorder),
                                  private)
    with pytest.raises(TrackerError) as none:
        hub_bind.bind_through_hub(_project(tmp_path), "gitlab", client, choose=lambda c: 1,
                                  confirm=lambda q: True)
    assert none.value.code == "TRACKER_NO_RESOURCES"
    assert none.value.message.startswith("No bindable resources found for gitlab.")
    with pytest.raises(TrackerError) as no_installation:
        hub_bind.discover(client, "gitlab")
    assert no_installation.value.code == "NO_INSTALLATION"
    assert no_installation.value.message.endswith("(action required — check the team hub)")
