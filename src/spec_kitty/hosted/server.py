"""Which hub this machine talks to, and whether that URL is acceptable.

Resolution (first match wins): the ``SPEC_KITTY_SAAS_URL`` environment variable, then
``[sync] server_url`` in ``<runtime>/config.toml``. There is no built-in default: we
ship the hub, so no vendor host is ever contacted unless the user names it.

Rules for an acceptable URL: ``https://``, or plain ``http://`` only for a loopback host
(``localhost``, ``127.0.0.0/8``, ``::1``); no user name or password in it (secrets never
go in URLs), no query or fragment. A path prefix is kept (a hub behind ``/kitty``); the
trailing slash is dropped.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.hosted.config import get_string
from spec_kitty.hosted.runtime import RuntimePaths

SERVER_URL_ENV = "SPEC_KITTY_SAAS_URL"
CONFIG_SECTION = "sync"
CONFIG_KEY = "server_url"


class ServerUrlError(SpecKittyError):
    """An unacceptable hub URL: exit 1, ``SERVER_URL_INVALID``, names where it came from."""

    def __init__(self, problem: str, source: str) -> None:
        super().__init__(f"{source}: {problem}", "SERVER_URL_INVALID",
                         details={"source": source},
                         hint="Use https://HOST[:PORT], or http:// on a loopback address.")


@dataclass(frozen=True)
class ServerUrl:
    """A validated hub base URL (no trailing slash) and where it was found."""

    url: str
    source: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (brackets allowed for IPv6)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_server_url(raw: str, source: str) -> str:
    """The canonical form of ``raw``; raises :class:`ServerUrlError` naming ``source``."""
    text = raw.strip()
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ServerUrlError(f"not a valid URL ({exc})", source) from None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not host:
        raise ServerUrlError(f"{text!r} is not an http(s) URL with a host", source)
    if not port_ok:
        raise ServerUrlError(f"{text!r} has an invalid port", source)
    if parts.username is not None or parts.password is not None:
        raise ServerUrlError("credentials must not be part of the URL", source)
    if parts.query or parts.fragment:
        raise ServerUrlError(f"{text!r} must not have a query or fragment", source)
    if scheme == "http" and not is_loopback_host(host):
        raise ServerUrlError(
            f"{text!r} uses plain http; HTTPS is required except on loopback hosts", source)
    return urlunsplit((scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def resolve_server_url(environ: Mapping[str, str] | None = None,
                       paths: RuntimePaths | None = None) -> ServerUrl | None:
    """The hub to use, or ``None`` when neither the variable nor the config names one.

    Raises :class:`ServerUrlError` for an unacceptable URL and
    :class:`~spec_kitty.hosted.config.UserConfigError` for an unreadable config file.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(SERVER_URL_ENV, "").strip()
    if from_env:
        return ServerUrl(normalise_server_url(from_env, SERVER_URL_ENV), SERVER_URL_ENV)
    paths = paths or RuntimePaths.current(env)
    from_config = get_string(CONFIG_SECTION, CONFIG_KEY, paths)
    if from_config is None:
        return None
    source = f"{paths.config_file} [{CONFIG_SECTION}] {CONFIG_KEY}"
    return ServerUrl(normalise_server_url(from_config, source), source)
