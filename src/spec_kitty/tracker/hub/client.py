"""The hub-backed tracker client: ``/api/v1/tracker/*`` over the authenticated client.

Rules (Spec Kitty tracker reference §2, "Retry rules"):

* every request carries the bearer token (the auth transport) and ``X-Team-Slug``;
* writes (push, run, bind-confirm, mission-origin/bind) carry an ``Idempotency-Key``
  that is **the same on every retry of one logical operation**: the caller's key, or a
  durable attempt key (:mod:`.attempts`) reused until the operation has an outcome;
* 401: the auth transport refreshes once and replays once; a second 401 (or a refused
  refresh) is "Session expired. Run `spec-kitty auth login` to re-authenticate.";
* 429: wait ``retry_after_seconds`` (else ``Retry-After``, else 5 s) and retry once;
  a second 429 is an error;
* 202: poll ``operations/{id}/`` after 1 s, doubling to 30 s, times a jitter in
  [0.8, 1.2), until a deadline of min(max(4 × timeout, 30), 300) s that is persisted
  with the attempt; past it the answer is ``RECOVERY_REQUIRED`` and a retry resumes
  polling the same operation instead of re-sending the request. A 202 without an
  ``operation_id`` is ``RECOVERY_REQUIRED`` at once. When a resumed operation is
  unknown to the hub (404), the request is sent once more with the same key;
* network errors fail at once (no retry, no fallback);
* error bodies are read in both spellings (``code``/``category`` and
  ``error_code``/``error_category``), and in the hub's ``error``/``error_description``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spec_kitty.tracker.attempts import AttemptStore, fingerprint
from spec_kitty.tracker.errors import TrackerError
from spec_kitty.tracker.hub.service import Routing

if TYPE_CHECKING:
    import httpx

PREFIX = "/api/v1/tracker/"
SESSION_EXPIRED = "Session expired. Run `spec-kitty auth login` to re-authenticate."
ACTION_REQUIRED = " (action required — check the team hub)"
STALE_CODES = ("binding_not_found", "mapping_disabled", "project_mismatch")
DEFAULT_RETRY_AFTER = 5.0
UNKNOWN_OPERATION_CODES = ("operation_not_found", "not_found", "http_404")
TEAM_ENV = "SPEC_KITTY_TRACKER_TEAM"


JITTER_LOW, JITTER_HIGH = 0.8, 1.2


def poll_deadline_seconds(timeout: float) -> float:
    return min(max(4 * timeout, 30.0), 300.0)


def default_jitter(source: Callable[[], float] = random.random) -> float:
    """The factor each poll delay is multiplied by: uniform in [0.8, 1.2), so clients
    that started together do not poll the hub in step. ``source`` returns [0, 1).

    Not ``random.uniform(0.8, 1.2)``: float rounding makes that return 1.2 itself for
    the largest ``random()`` values, outside the documented half-open range.
    """
    value = JITTER_LOW + (JITTER_HIGH - JITTER_LOW) * source()
    return min(value, math.nextafter(JITTER_HIGH, 0.0))


def error_from(response: httpx.Response, provider: str | None = None) -> TrackerError:
    """A :class:`TrackerError` from any error body the hub (old or new) sends."""
    try:
        data = response.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    code = str(data.get("error_code") or data.get("code") or data.get("error")
               or f"http_{response.status_code}")
    message = str(data.get("message") or data.get("error_description") or data.get("detail")
                  or response.text.strip()[:300] or response.reason_phrase)
    if code in STALE_CODES:
        message = (f"{message} The tracker binding is stale: run "
                   f"`spec-kitty tracker bind --provider {provider or '<provider>'}`.")
    if data.get("user_action_required") is True:
        message += ACTION_REQUIRED
    details = {"category": data.get("error_category") or data.get("category"),
               "http_status": response.status_code, "retryable": data.get("retryable"),
               "source": data.get("source"), "hub_error_code": code}
    for extra in ("operation_id", "idempotency_key", "effect_certainty"):
        if data.get(extra) is not None:
            details[extra] = data[extra]
    return TrackerError(message, code.upper(), details=details)


def operation_unknown(error: TrackerError) -> bool:
    """Whether ``operations/{id}/`` answered 404 for the operation itself (not for the
    team, which a re-send could not fix either)."""
    details = error.details or {}
    return details.get("http_status") == 404 and \
        details.get("hub_error_code") in UNKNOWN_OPERATION_CODES


def recovery_required(operation_id: str | None, key: str) -> TrackerError:
    where = f"operation {operation_id}" if operation_id else "the request"
    return TrackerError(
        f"The hub accepted {where}, but its outcome is not known yet. Recovery required: "
        "re-run the same command to resume checking it (it is not sent again, unless the "
        "hub no longer knows it: then once, with the same Idempotency-Key), or check the "
        "team hub.", "RECOVERY_REQUIRED",
        details={"operation_id": operation_id, "idempotency_key": key})


class HttpHubTrackerClient:
    """:class:`~spec_kitty.tracker.hub.service.HubTrackerClient` over ``httpx``.

    ``http`` must be the authenticated client (``base_url`` = the hub). ``sleep``,
    ``now`` and ``jitter`` are injectable so tests never wait for real.
    """

    def __init__(self, http: httpx.Client, team_slug: str, *,
                 attempts: AttemptStore | None = None, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = default_jitter,
                 prefer_async: bool = False) -> None:
        self.http = http
        self.team_slug = team_slug
        self.attempts = attempts or AttemptStore.default()
        self.timeout = timeout
        self.sleep, self.now, self.jitter = sleep, now, jitter
        self.prefer_async = prefer_async

    # -- transport rules ---------------------------------------------------------
    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None, key: str | None = None) -> httpx.Response:
        import httpx

        from spec_kitty.auth.errors import ReauthRequired

        headers = {"X-Team-Slug": self.team_slug}
        if key:
            headers["Idempotency-Key"] = key
            if self.prefer_async:
                headers["Prefer"] = "respond-async"
        for attempt in (1, 2):
            try:
                response = self.http.request(method, PREFIX + path, params=params, json=body,
                                             headers=headers)
            except ReauthRequired:
                raise TrackerError(SESSION_EXPIRED, "SESSION_EXPIRED") from None
            except httpx.TransportError as exc:
                raise TrackerError(
                    f"Cannot reach the team hub at {self.http.base_url}: "
                    f"{exc or type(exc).__name__}.", "HUB_UNREACHABLE",
                    details={"idempotency_key": key} if key else None) from None
            if response.status_code == 401:
                raise TrackerError(SESSION_EXPIRED, "SESSION_EXPIRED")
            if response.status_code == 429 and attempt == 1:
                self.sleep(self._retry_after(response))
                continue
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def _retry_after(response: httpx.Response) -> float:
        try:
            data = response.json()
            value = data.get("retry_after_seconds") if isinstance(data, dict) else None
        except ValueError:
            value = None
        for candidate in (value, response.headers.get("Retry-After")):
            try:
                if candidate is not None and float(candidate) >= 0:
                    return float(candidate)
            except (TypeError, ValueError):
                continue
        return DEFAULT_RETRY_AFTER

    def _json(self, response: httpx.Response, provider: str | None) -> dict[str, Any]:
        if response.status_code >= 400:
            raise error_from(response, provider)
        try:
            data = response.json()
        except ValueError:
            raise TrackerError("The hub answered something that is not JSON.",
                               "HUB_BAD_RESPONSE") from None
        if not isinstance(data, dict):
            raise TrackerError("The hub answered JSON that is not an object.",
                               "HUB_BAD_RESPONSE")
        return data

    def _read(self, method: str, path: str, provider: str, *,
              params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._json(self._send(method, path, params=params, body=body), provider)

    def _write(self, path: str, provider: str, body: dict[str, Any],
               key: str | None) -> dict[str, Any]:
        """One logical write: a stable key, 202 polling, persisted deadline."""
        name = fingerprint(path, provider, {}, body)
        attempt = self.attempts.begin(name)
        key = key or attempt.key
        if attempt.operation_id is not None:  # accepted before: resume, never re-send
            try:
                return self._poll(name, attempt.operation_id, attempt.deadline or 0.0, key,
                                  provider, check_first=True)
            except TrackerError as exc:
                if not operation_unknown(exc):
                    raise
            # The hub no longer knows the operation (its job was purged, or the database
            # restored), so polling can never end. Send once more with the SAME key: a hub
            # that still has the key replays its job; one that lost it runs a new job whose
            # creates carry the same provider-side keys (per work package, else derived
            # from this key), so nothing is made twice.
            self.attempts.forget_operation(name)
        response = self._send("POST", path, body=body, key=key)
        if response.status_code == 202:
            data = self._json(response, provider)
            operation_id = data.get("operation_id")
            if not operation_id:
                raise recovery_required(None, key)
            deadline = self.attempts.accepted(
                name, str(operation_id), self.now() + poll_deadline_seconds(self.timeout))
            return self._poll(name, str(operation_id), deadline, key, provider)
        if response.status_code < 500:  # a definite answer: the attempt is over
            self.attempts.finish(name)
        return self._json(response, provider)

    def _poll(self, name: str, operation_id: str, deadline: float, key: str,
              provider: str, *, check_first: bool = False) -> dict[str, Any]:
        """Poll until the operation ends or the persisted deadline passes. A resumed
        attempt (``check_first``) looks once at once, so re-running a command whose
        deadline has passed still picks up an outcome that arrived since."""
        if check_first:
            outcome = self._check(name, operation_id, provider)
            if outcome is not None:
                return outcome
        delay = 1.0
        while True:
            remaining = deadline - self.now()
            if remaining <= 0:
                raise recovery_required(operation_id, key)
            self.sleep(min(delay * self.jitter(), remaining))
            outcome = self._check(name, operation_id, provider)
            if outcome is not None:
                return outcome
            delay = min(delay * 2, 30.0)

    def _check(self, name: str, operation_id: str, provider: str) -> dict[str, Any] | None:
        """One look at ``operations/{id}/``: the result when completed (the attempt is
        over), a TrackerError when failed, None while pending or running."""
        body = self._read("GET", f"operations/{operation_id}/", provider)
        status = body.get("status")
        if status == "completed":
            self.attempts.finish(name)
            result = body.get("result")
            return result if isinstance(result, dict) else {}
        if status == "failed":
            self.attempts.finish(name)
            error = body.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            code = (error.get("error_code") or error.get("code")) \
                if isinstance(error, dict) else None
            raise TrackerError(f"The hub operation {operation_id} failed: "
                               f"{message or 'no reason given'}.",
                               str(code or "operation_failed").upper(),
                               details={"operation_id": operation_id})
        return None

    # -- endpoints ---------------------------------------------------------------
    @staticmethod
    def _routed(provider: str, routing: Routing | None) -> dict[str, Any]:
        return {"provider": provider, **(routing.to_params() if routing else {})}

    def status(self, provider: str, routing: Routing | None) -> dict[str, Any]:
        return self._read("GET", "status/", provider, params=self._routed(provider, routing))

    def mappings(self, provider: str, routing: Routing | None) -> dict[str, Any]:
        return self._read("GET", "mappings/", provider, params=self._routed(provider, routing))

    def pull(self, provider: str, routing: Routing, *, limit: int,
             cursor: str | None = None) -> dict[str, Any]:
        body = {**self._routed(provider, routing), "limit": limit}
        if cursor:
            body["cursor"] = cursor
        return self._read("POST", "pull/", provider, body=body)

    def push(self, provider: str, routing: Routing, items: list[dict[str, Any]], *,
             idempotency_key: str | None = None) -> dict[str, Any]:
        body = {**self._routed(provider, routing), "items": items}
        return self._write("push/", provider, body, idempotency_key)

    def run(self, provider: str, routing: Routing, *, limit: int,
            idempotency_key: str | None = None) -> dict[str, Any]:
        body = {**self._routed(provider, routing), "pull_first": True, "limit": limit}
        return self._write("run/", provider, body, idempotency_key)

    def operation(self, provider: str, operation_id: str) -> dict[str, Any]:
        return self._read("GET", f"operations/{operation_id}/", provider)

    def issue_search(self, provider: str, routing: Routing | None, *, query_text: str | None,
                     query_key: str | None, limit: int) -> dict[str, Any]:
        body = {**self._routed(provider, routing), "limit": limit, "query_key": query_key,
                "query_text": query_text}
        return self._read("POST", "issue-search/", provider, body=body)

    def list_tickets(self, provider: str, routing: Routing, *, limit: int) -> dict[str, Any]:
        body = {**self._routed(provider, routing), "limit": limit}
        return self._read("POST", "list-tickets/", provider, body=body)

    def resources(self, provider: str) -> dict[str, Any]:
        return self._read("GET", "resources/", provider, params={"provider": provider})

    def bind_resolve(self, provider: str, identity: dict[str, Any]) -> dict[str, Any]:
        return self._read("POST", "bind-resolve/", provider,
                          body={"provider": provider, "project_identity": identity})

    def bind_confirm(self, provider: str, candidate_token: str,
                     identity: dict[str, Any]) -> dict[str, Any]:
        body = {"provider": provider, "candidate_token": candidate_token,
                "project_identity": identity}
        return self._write("bind-confirm/", provider, body, None)

    def bind_validate(self, provider: str, binding_ref: str,
                      identity: dict[str, Any]) -> dict[str, Any]:
        return self._read("POST", "bind-validate/", provider, body={
            "provider": provider, "binding_ref": binding_ref, "project_identity": identity})

    def mission_origin_bind(self, provider: str, routing: Routing | None,
                            origin: dict[str, Any]) -> dict[str, Any]:
        body = {**self._routed(provider, routing), **origin}
        return self._write("mission-origin/bind/", provider, body, None)


def tracker_team(session_teams: list[tuple[str, bool]], chosen: str | None) -> str:
    """The team tracker calls run in: ``chosen`` (``SPEC_KITTY_TRACKER_TEAM``) if given,
    else the only shared team, else the private teamspace. Several shared teams and no
    choice is an error naming them."""
    ids = [team for team, _ in session_teams]
    if chosen:
        if chosen not in ids:
            raise TrackerError(f"You are not a member of team {chosen!r} on this hub "
                               f"(teams: {', '.join(ids)}).", "TRACKER_TEAM_UNKNOWN")
        return chosen
    shared = [team for team, private in session_teams if not private]
    if len(shared) == 1:
        return shared[0]
    if len(shared) > 1:
        raise TrackerError(f"You belong to several teams ({', '.join(shared)}); choose one "
                           f"with {TEAM_ENV}=<team>.", "TRACKER_TEAM_AMBIGUOUS")
    return ids[0]


def client_from_session(**options: Any) -> HttpHubTrackerClient:
    """The client for the logged-in hub (raises the auth layer's readiness errors)."""
    import os

    from spec_kitty.auth.storage import SessionStore
    from spec_kitty.auth.transport import authenticated_client
    from spec_kitty.hosted.runtime import RuntimePaths

    paths = RuntimePaths.current()
    http = authenticated_client(paths)
    session = SessionStore(paths).load()
    if session is None:
        raise TrackerError(SESSION_EXPIRED, "SESSION_EXPIRED")
    teams = [(team.id, team.is_private_teamspace) for team in session.teams]
    team = tracker_team(teams, os.environ.get(TEAM_ENV, "").strip() or None)
    return HttpHubTrackerClient(http, team, **options)
