"""The one HTTP path every connector uses: httpx, bounded retries, honoured rate limits.

Rules, in order, for each attempt (at most ``RetryPolicy.max_attempts``):

* If the last answer said the budget is spent (``remaining == 0`` with a reset time),
  wait for the reset first, when that is within ``max_wait``.
* A connection that could not be opened is retried: nothing reached the provider.
* A connection that broke after the request was sent is retried only for idempotent
  requests; for a create it raises :class:`NetworkFailure` with ``effect_unknown``.
* A rate-limit answer (each provider's :class:`RateLimitRules` recognises its own)
  is waited out when the wait is within ``max_wait``, else :class:`RateLimited`.
* 5xx answers are retried with exponential backoff and jitter for idempotent
  requests, then :class:`ProviderUnavailable`.
* Other 4xx answers become typed errors at once.

``sleep``, ``clock`` and ``jitter`` are injectable so tests never wait for real.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from spec_kitty_hub.connectors.errors import (
    AuthenticationFailed,
    ConnectorError,
    InvalidRequest,
    NetworkFailure,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
)

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts every try; waits are in seconds."""

    max_attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    max_wait: float = 60.0


class RateLimitRules(Protocol):
    def wait_for(self, response: httpx.Response, now: float) -> float | None:
        """Seconds to wait when ``response`` is a rate-limit answer, else None."""

    def budget(self, response: httpx.Response) -> tuple[int | None, float | None]:
        """(requests remaining, reset as epoch seconds) from any answer's headers."""


def header_number(headers: httpx.Headers, name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def error_text(response: httpx.Response) -> str:
    """The provider's own message: JSON ``message``/``error``/``errorMessages``, or text."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(data, Mapping):
        for key in ("message", "error", "error_description"):
            if isinstance(data.get(key), str):
                return str(data[key])
        messages = list(data.get("errorMessages") or [])
        messages += (
            [f"{k}: {v}" for k, v in (data.get("errors") or {}).items()]
            if isinstance(data.get("errors"), Mapping)
            else []
        )
        if messages:
            return "; ".join(str(m) for m in messages)
    return str(data)[:300]


class ProviderHttp:
    def __init__(
        self,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        rules: RateLimitRules,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.rules = rules
        self.policy = policy or RetryPolicy()
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.client = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": "spec-kitty-hub", **headers},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    def _respect_budget(self) -> None:
        if self.remaining != 0 or self.reset_at is None:
            return
        wait = self.reset_at - self._clock()
        if wait <= 0:
            return
        if wait > self.policy.max_wait:
            raise RateLimited(self.provider, wait)
        self._pause(wait)
        self.remaining = None

    def _backoff(self, attempt: int) -> float:
        growth: float = self.policy.backoff_initial * 2.0 ** (attempt - 1)
        base = min(self.policy.backoff_max, growth)
        return base * (0.5 + self._jitter() / 2)

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one logical request; returns a 2xx response or raises a ConnectorError."""
        safe = method.upper() in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        last: ConnectorError | None = None
        for attempt in range(1, self.policy.max_attempts + 1):
            final = attempt == self.policy.max_attempts
            self._respect_budget()
            try:
                response = self.client.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = NetworkFailure(self.provider, f"cannot connect: {exc}", effect_unknown=False)
            except httpx.TransportError as exc:
                if not safe:
                    raise NetworkFailure(
                        self.provider,
                        f"connection lost during {method} {url}: {exc}",
                        effect_unknown=True,
                    ) from exc
                last = NetworkFailure(
                    self.provider, f"connection lost: {exc}", effect_unknown=False
                )
            else:
                self.remaining, self.reset_at = self.rules.budget(response)
                wait = self.rules.wait_for(response, self._clock())
                if wait is not None:
                    if wait > self.policy.max_wait or final:
                        raise RateLimited(self.provider, wait)
                    self._pause(wait)
                    self.remaining = None  # this wait already covers the spent budget
                    continue
                if response.is_success:
                    return response
                if response.status_code >= 500:
                    error = ProviderUnavailable(
                        self.provider,
                        f"{response.status_code} {error_text(response)}",
                        status=response.status_code,
                        effect_unknown=not safe,
                    )
                    if not safe:
                        raise error
                    last = error
                else:
                    raise self._client_error(response)
            if final:
                break
            self._pause(self._backoff(attempt))
        assert last is not None
        raise last

    def _client_error(self, response: httpx.Response) -> ConnectorError:
        status, text = response.status_code, error_text(response)
        kind: type[ConnectorError] = {
            401: AuthenticationFailed,
            403: PermissionDenied,
            404: NotFound,
            410: NotFound,
        }.get(status, InvalidRequest)
        return kind(self.provider, f"{status} {text}", status=status)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            from spec_kitty_hub.connectors.errors import UnexpectedResponse

            raise UnexpectedResponse(self.provider, f"not JSON: {response.text[:200]!r}") from exc
