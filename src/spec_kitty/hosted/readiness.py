"""One evaluator for "can this hosted command work here?", naming the first gap.

Checks run in this order and the first failing one is the answer (reference §5):

=========================  ========================================================
``ROLLOUT_DISABLED``       the rollout gate is off (:mod:`.gate`)
``MISSING_AUTH``           no session file under ``<runtime>/auth`` (not logged in)
``MISSING_HOST_CONFIG``    no usable hub URL: ``SPEC_KITTY_SAAS_URL`` or
                           ``[sync] server_url`` in ``config.toml`` (:mod:`.server`).
                           The published CLI only honours the variable; we honour both,
                           by the same resolution every hosted command uses.
``HOST_UNREACHABLE``       opt-in (``probe_reachability``): one ``HEAD`` of the hub URL,
                           2 s, no retry; any HTTP answer counts as reachable
``MISSING_MISSION_BINDING`` opt-in (``require_mission_binding``): no tracker binding in
                           ``.kittify/config.yaml`` of the project
``READY``                  all of the above pass (``message`` empty, no next action)
=========================  ========================================================

:func:`evaluate_readiness` never raises: a check that fails unexpectedly reports its own
state with ``details["error"]``. Without the probe it only reads local files (a stat and
at most one small TOML file), well under the 200 ms budget.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted import gate
from spec_kitty.hosted.runtime import RuntimePaths

PROBE_TIMEOUT_SECONDS = 2.0


class ReadinessState(StrEnum):
    ROLLOUT_DISABLED = "ROLLOUT_DISABLED"
    MISSING_AUTH = "MISSING_AUTH"
    MISSING_HOST_CONFIG = "MISSING_HOST_CONFIG"
    HOST_UNREACHABLE = "HOST_UNREACHABLE"
    MISSING_MISSION_BINDING = "MISSING_MISSION_BINDING"
    READY = "READY"


@dataclass(frozen=True)
class ReadinessResult:
    """The verdict: ``state``, a one-line ``message`` and the command that fixes it."""

    state: ReadinessState
    message: str = ""
    next_action: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.state is ReadinessState.READY

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value, "message": self.message,
                "next_action": self.next_action, "details": dict(self.details)}

    def raise_unless_ready(self) -> None:
        """Raise :class:`NotReady` (exit 1, ``error_code`` = the state) unless ``READY``."""
        if not self.ready:
            raise NotReady(self)


class NotReady(SpecKittyError):
    """A hosted command cannot run: the message and hint come from the readiness verdict."""

    def __init__(self, result: ReadinessResult) -> None:
        super().__init__(result.message, result.state.value, hint=result.next_action,
                         details={"readiness": result.to_json()})
        self.result = result


AuthCheck = Callable[[RuntimePaths], bool]
BindingCheck = Callable[[Path | None, str | None], bool]
Probe = Callable[[str, float], None]


def session_file_present(paths: RuntimePaths) -> bool:
    """The cheap local check: is there a session file at all (no decryption)?"""
    return paths.session_file.is_file()


def tracker_binding_present(repo_root: Path | None, mission_slug: str | None) -> bool:
    """A ``tracker:`` block in ``.kittify/config.yaml`` that routes somewhere.

    A binding is per repository (tracker reference §4), so ``mission_slug`` only
    appears in the message. Raises when the project or its config cannot be read.
    """
    from spec_kitty.repo.config import load_config
    from spec_kitty.repo.paths import KITTIFY, find_project_root

    root = repo_root if repo_root is not None else find_project_root()
    config = load_config(Path(root) / KITTIFY / "config.yaml")
    tracker = config.get("tracker")
    if not isinstance(tracker, dict) or not str(tracker.get("provider") or "").strip():
        return False
    return any(str(tracker.get(key) or "").strip()
               for key in ("binding_ref", "project_slug", "workspace"))


def head_probe(url: str, timeout: float) -> None:
    """One ``HEAD`` request; raises on any transport failure, returns on any HTTP answer."""
    import httpx

    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        client.head(url)


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def evaluate_readiness(
    *,
    repo_root: Path | None = None,
    mission_slug: str | None = None,
    require_auth: bool = True,
    require_mission_binding: bool = False,
    probe_reachability: bool = False,
    environ: Mapping[str, str] | None = None,
    paths: RuntimePaths | None = None,
    auth_check: AuthCheck = session_file_present,
    binding_check: BindingCheck = tracker_binding_present,
    probe: Probe = head_probe,
) -> ReadinessResult:
    """The first unmet prerequisite, or ``READY`` (see the module docstring for the order).

    ``require_auth=False`` serves commands that establish auth (``auth login``). The
    check functions are injectable for callers with a stricter notion (e.g. a decrypted,
    unexpired session). Never raises.
    """
    env = os.environ if environ is None else environ
    if not gate.is_enabled(env):
        return ReadinessResult(ReadinessState.ROLLOUT_DISABLED,
                               "Hosted SaaS sync is not enabled on this machine.",
                               f"Set `{gate.GATE_ENV}=1` to opt in.")
    try:
        paths = paths or RuntimePaths.current(env)
    except Exception as exc:  # e.g. no home directory at all
        return ReadinessResult(ReadinessState.MISSING_AUTH, "The runtime directory is unknown.",
                               "Set SPEC_KITTY_HOME.", {"error": _error_text(exc)})
    if require_auth:
        result = _check_auth(paths, auth_check)
        if result is not None:
            return result
    host = _check_host(env, paths)
    if isinstance(host, ReadinessResult):
        return host
    if probe_reachability:
        try:
            probe(host, PROBE_TIMEOUT_SECONDS)
        except Exception as exc:
            return ReadinessResult(
                ReadinessState.HOST_UNREACHABLE,
                f"The hub at {host} did not answer within {PROBE_TIMEOUT_SECONDS:g} seconds.",
                f"Check that the hub at {host} is running and reachable, then retry.",
                {"server_url": host, "error": _error_text(exc)})
    if require_mission_binding:
        result = _check_binding(repo_root, mission_slug, binding_check)
        if result is not None:
            return result
    return ReadinessResult(ReadinessState.READY, details={"server_url": host})


def _check_auth(paths: RuntimePaths, auth_check: AuthCheck) -> ReadinessResult | None:
    details: dict[str, str] = {"session_file": str(paths.session_file)}
    try:
        present = auth_check(paths)
    except Exception as exc:
        present = False
        details["error"] = _error_text(exc)
    if present:
        return None
    return ReadinessResult(ReadinessState.MISSING_AUTH, "You are not logged in to a hub.",
                           "Run `spec-kitty auth login`.", details)


def _check_host(env: Mapping[str, str], paths: RuntimePaths) -> str | ReadinessResult:
    from spec_kitty.hosted.server import SERVER_URL_ENV, resolve_server_url

    fix = (f"Set `{SERVER_URL_ENV}`, or `server_url` under `[sync]` in "
           f"{paths.config_file}.")
    try:
        server = resolve_server_url(env, paths)
    except Exception as exc:
        message = exc.message if isinstance(exc, SpecKittyError) else _error_text(exc)
        return ReadinessResult(ReadinessState.MISSING_HOST_CONFIG,
                               f"The hub URL cannot be used: {message}", fix,
                               {"error": message})
    if server is None:
        return ReadinessResult(ReadinessState.MISSING_HOST_CONFIG,
                               "No hub URL is configured.", fix)
    return server.url


def _check_binding(repo_root: Path | None, mission_slug: str | None,
                   binding_check: BindingCheck) -> ReadinessResult | None:
    details: dict[str, str] = {}
    try:
        bound = binding_check(repo_root, mission_slug)
    except Exception as exc:
        bound = False
        details["error"] = exc.message if isinstance(exc, SpecKittyError) else _error_text(exc)
    if bound:
        return None
    subject = f"mission `{mission_slug}`" if mission_slug else "this project"
    return ReadinessResult(ReadinessState.MISSING_MISSION_BINDING,
                           f"No tracker binding exists for {subject}.",
                           "Run `spec-kitty tracker bind` in this repository.", details)
