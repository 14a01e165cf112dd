"""PKCE (RFC 7636) with S256, and the ``state`` value that binds a callback to its login.

The verifier is 64 random bytes in base64url (86 characters, inside RFC 7636's 43-128
and its unreserved alphabet); the challenge is ``BASE64URL(SHA256(verifier))`` without
padding. ``state`` is 32 random bytes in base64url; a callback is accepted only when its
``state`` matches in constant time and arrives within :data:`STATE_LIFETIME_SECONDS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

STATE_LIFETIME_SECONDS = 300.0


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_verifier() -> str:
    return _b64url(secrets.token_bytes(64))


def challenge_for(verifier: str) -> str:
    """The S256 code challenge of ``verifier``."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class PkcePair:
    verifier: str = field(repr=False)
    challenge: str
    state: str = field(repr=False)
    created_at: float

    @classmethod
    def new(cls) -> PkcePair:
        verifier = new_verifier()
        return cls(verifier, challenge_for(verifier), _b64url(secrets.token_bytes(32)),
                   time.monotonic())

    def state_matches(self, candidate: str | None) -> bool:
        """``candidate`` equals our state (constant time) and the state has not expired."""
        if not candidate or time.monotonic() - self.created_at > STATE_LIFETIME_SECONDS:
            return False
        return hmac.compare_digest(candidate.encode(), self.state.encode())
