"""Login building blocks without a hub: PKCE, the loopback receiver, flow control."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec_kitty.auth import pkce
from spec_kitty.auth.browser import browser_login
from spec_kitty.auth.device import device_login
from spec_kitty.auth.errors import LoginFailed
from spec_kitty.auth.loopback import CALLBACK_PATH, LoopbackReceiver
from spec_kitty.auth.oauth import DeviceAuthorization, OAuthClient, OAuthError

UNRESERVED = re.compile(r"^[A-Za-z0-9\-._~]+$")


def test_pkce_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_pairs_are_long_random_and_well_formed() -> None:
    pairs = [pkce.PkcePair.new() for _ in range(20)]
    for pair in pairs:
        assert 43 <= len(pair.verifier) <= 128 and UNRESERVED.match(pair.verifier)
        assert pair.challenge == pkce.challenge_for(pair.verifier)
        assert len(pair.state) >= 43 and "=" not in pair.state
        assert pair.verifier not in repr(pair) and pair.state not in repr(pair)
    assert len({p.verifier for p in pairs}) == 20 and len({p.state for p in pairs}) == 20


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
               min_size=43, max_size=128))
def test_challenge_is_43_base64url_characters(verifier: str) -> None:
    challenge = pkce.challenge_for(verifier)
    assert len(challenge) == 43 and UNRESERVED.match(challenge)


def test_state_check_is_exact_and_expires() -> None:
    pair = pkce.PkcePair.new()
    assert pair.state_matches(pair.state)
    assert not pair.state_matches(pair.state + "x") and not pair.state_matches(None)
    assert not pair.state_matches("")
    stale = pkce.PkcePair(pair.verifier, pair.challenge, pair.state,
                          time.monotonic() - pkce.STATE_LIFETIME_SECONDS - 1)
    assert not stale.state_matches(pair.state)


# -- the loopback receiver -----------------------------------------------------------------


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10, trust_env=False)


def test_receiver_ignores_forgeries_and_returns_the_real_callback(
        capfd: pytest.CaptureFixture[str]) -> None:
    receiver = LoopbackReceiver(lambda state: state == "good-state")
    base = f"http://127.0.0.1:{receiver.port}"
    assert receiver.redirect_uri == f"{base}{CALLBACK_PATH}"
    answers: list[int] = []

    def browser() -> None:
        answers.append(_get(f"{base}/favicon.ico").status_code)
        answers.append(_get(f"{base}{CALLBACK_PATH}?code=evil&state=forged").status_code)
        answers.append(_get(f"{base}{CALLBACK_PATH}?state=good-state").status_code)
        answers.append(_get(f"{base}{CALLBACK_PATH}?code=the-CODE&state=good-state").status_code)

    thread = threading.Thread(target=browser)
    thread.start()
    try:
        callback = receiver.wait(timeout=30)
    finally:
        thread.join()
        receiver.close()
    assert answers == [404, 400, 400, 200]
    assert callback is not None and callback.code == "the-CODE" and callback.error is None
    captured = capfd.readouterr()
    assert "the-CODE" not in captured.err + captured.out  # request lines are never logged


def test_receiver_reports_a_denial_and_times_out() -> None:
    receiver = LoopbackReceiver(lambda state: state == "s")
    url = f"{receiver.redirect_uri}?error=access_denied&error_description=User+said+no&state=s"
    thread = threading.Thread(target=_get, args=(url,))
    thread.start()
    callback = receiver.wait(timeout=30)
    thread.join()
    receiver.close()
    assert callback is not None and callback.code is None
    assert (callback.error, callback.error_description) == ("access_denied", "User said no")
    idle = LoopbackReceiver(lambda state: True)
    started = time.monotonic()
    assert idle.wait(timeout=0.3) is None
    assert time.monotonic() - started >= 0.3
    idle.close()


def test_receiver_moves_on_when_the_preferred_ports_are_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        receiver = LoopbackReceiver(lambda state: True, ports=range(busy, busy + 1))
        try:
            assert receiver.port != busy and receiver.port > 0
            assert receiver.redirect_uri.startswith("http://127.0.0.1:")
        finally:
            receiver.close()


def test_receiver_listens_on_loopback_only() -> None:
    receiver = LoopbackReceiver(lambda state: True)
    try:
        assert receiver._server.socket.getsockname()[0] == "127.0.0.1"
    finally:
        receiver.close()


# -- the browser flow up to the code exchange (no hub needed) ------------------------------


def _answer_callback(query: str) -> Any:
    def opener(url: str) -> bool:
        params = parse_qs(urlsplit(url).query)
        redirect = params["redirect_uri"][0]
        state = params["state"][0]
        threading.Thread(target=_get, args=(f"{redirect}?{query}&state={state}",)).start()
        return True
    return opener


def test_browser_flow_builds_a_pkce_authorize_url_and_reports_a_denial() -> None:
    shown: list[tuple[str, bool]] = []
    with OAuthClient("http://127.0.0.1:9") as oauth, pytest.raises(LoginFailed) as caught:
        browser_login(oauth, lambda url, opened: shown.append((url, opened)),
                      opener=_answer_callback("error=access_denied"))
    assert caught.value.code == "LOGIN_DENIED"
    (url, opened), = shown
    assert opened
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("http://127.0.0.1:9/oauth/authorize?")
    assert params["client_id"] == "cli_native" and params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["scope"] == "offline_access"
    assert re.match(r"^http://127\.0\.0\.1:\d+/callback$", params["redirect_uri"])
    assert "code_verifier" not in params


def test_browser_flow_without_a_browser_times_out() -> None:
    shown: list[tuple[str, bool]] = []
    opened: list[str] = []
    with OAuthClient("http://127.0.0.1:9") as oauth, pytest.raises(LoginFailed) as caught:
        browser_login(oauth, lambda url, was_opened: shown.append((url, was_opened)),
                      open_browser=False, timeout=0.2, opener=lambda url: bool(opened.append(url)))
    assert caught.value.code == "LOGIN_TIMEOUT"
    assert opened == [] and shown[0][1] is False


# -- device flow control ---------------------------------------------------------------------


class ScriptedHub:
    """Answers polls from a script of RFC 8628 errors (our own client interface)."""

    def __init__(self, script: list[str], interval: float = 2, expires_in: float = 600) -> None:
        self.script = list(script)
        self.grant = DeviceAuthorization("dev-code", "ABCD-EFGH", "http://h/device", None,
                                         expires_in, interval)
        self.polls = 0

    def start_device(self) -> DeviceAuthorization:
        return self.grant

    def poll_device(self, device_code: str) -> Any:
        assert device_code == "dev-code"
        self.polls += 1
        step = self.script.pop(0)
        if step == "ok":
            return "GRANT"
        raise OAuthError(step, "", 400)


def _run(hub: ScriptedHub) -> tuple[Any, list[float]]:
    sleeps: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    shown: list[DeviceAuthorization] = []
    result = device_login(hub, shown.append, sleep=sleep, clock=lambda: clock[0])  # type: ignore[arg-type]
    assert shown == [hub.grant]
    return result, sleeps


def test_device_flow_polls_at_the_server_interval_and_slows_down() -> None:
    hub = ScriptedHub(["authorization_pending", "slow_down", "authorization_pending",
                       "slow_down", "ok"])
    result, sleeps = _run(hub)
    assert result == "GRANT" and hub.polls == 5
    assert sleeps == [2, 2, 7, 7, 12]


@pytest.mark.parametrize(("error", "code"), [("access_denied", "LOGIN_DENIED"),
                                             ("expired_token", "LOGIN_EXPIRED")])
def test_device_flow_ends_on_denial_or_expiry(error: str, code: str) -> None:
    with pytest.raises(LoginFailed) as caught:
        _run(ScriptedHub(["authorization_pending", error]))
    assert caught.value.code == code


def test_device_flow_stops_at_the_code_expiry_and_passes_other_errors_on() -> None:
    hub = ScriptedHub(["authorization_pending"] * 10, interval=5, expires_in=12)
    with pytest.raises(LoginFailed) as caught:
        _run(hub)
    assert caught.value.code == "LOGIN_EXPIRED" and hub.polls == 2
    with pytest.raises(OAuthError) as other:
        _run(ScriptedHub(["invalid_client"]))
    assert other.value.error == "invalid_client"
    hub = ScriptedHub(["ok"], interval=0)
    assert _run(hub)[1] == [5.0]  # no interval given: RFC 8628's default of 5 s
