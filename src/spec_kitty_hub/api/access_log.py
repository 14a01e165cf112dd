"""Keep device user codes out of the access log.

uvicorn logs each request's path with its query string. ``/device?user_code=…`` (the
``verification_uri_complete`` the CLI prints) and the sign-in redirect that carries it
in ``next`` would put a pending user code in the log, where anyone who can read the log
and sign in could approve it into their own account within its 15 minutes.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
# ``user_code=`` plain or percent-encoded inside ``next=`` (``user_code%3D``).
_USER_CODE = re.compile(r"(user_code(?:=|%3D))[^&\s\"]*", re.IGNORECASE)


def redact(path: str) -> str:
    """``path`` with every ``user_code`` value replaced by ``***``."""
    return _USER_CODE.sub(r"\1***", path)


class RedactUserCodes(logging.Filter):
    """A filter for uvicorn's access logger: its third argument is the request path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger once (each worker calls this)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactUserCodes) for f in logger.filters):
        logger.addFilter(RedactUserCodes())
