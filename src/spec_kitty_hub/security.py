"""Credential primitives: random tokens and their hashes, PKCE, passwords, user codes.

Sources: RFC 7636 (PKCE S256), RFC 8628 §6.1 (user code alphabet without vowels or
look-alike characters), RFC 8252 §7.3 (loopback redirect URIs for native apps).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from ipaddress import ip_address
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so both paths cost one argon2 run.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 8


def new_token() -> str:
    """A URL-safe random token carrying 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Hex SHA-256 of a high-entropy token: the only form in which tokens are stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def pkce_s256_matches(verifier: str, challenge: str) -> bool:
    """True when ``verifier`` is well-formed (RFC 7636 §4.1) and hashes to ``challenge``."""
    if not _VERIFIER.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


def is_valid_challenge(challenge: str) -> bool:
    """An S256 challenge is the unpadded base64url of 32 bytes: 43 characters."""
    return re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge) is not None


def is_loopback_redirect(uri: str) -> bool:
    """``http://`` to 127.0.0.0/8, ``[::1]`` or ``localhost``, any port, no fragment."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "http" or parts.fragment or parts.username or parts.password:
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return port is not None
    try:
        return ip_address(host).is_loopback and port is not None
    except ValueError:
        return False


def hash_password(password: str) -> str:
    """argon2id hash (argon2-cffi's default parameters)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (``password_hash=None``)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_user_code() -> str:
    """Eight letters from the RFC 8628 alphabet, shown as ``XXXX-XXXX``."""
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def normalize_user_code(text: str) -> str:
    """Case, spaces and dashes do not matter when a person types the code."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


def sign(key: str, message: str) -> str:
    """HMAC-SHA256 of ``message`` under ``key`` (hex), for CSRF tokens."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
