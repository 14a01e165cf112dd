"""The daemon's log: ``<runtime>/sync/daemon/daemon.log``, rotated at 1 MiB, 3 old files.

The spawner points the daemon's stdout and stderr at the same file (tracebacks of a
crash land there too); after each rotation they are re-pointed at the new file. A filter
masks the control token and anything shaped like a bearer token, so neither can end up
in the log even inside an exception message.
"""

from __future__ import annotations

import logging
import os
import re
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path

from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.daemon.owner import daemon_dir

MAX_BYTES = 1_048_576
BACKUPS = 3
LOGGER = "spec_kitty.sync.daemon"
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def log_file(paths: RuntimePaths) -> Path:
    return daemon_dir(paths) / "daemon.log"


class _Redact(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # A traceback is formatted after filters run: fold it into the message here,
        # so it is masked too, and drop the raw exception.
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.stack_info:
            message += "\n" + record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        message = _BEARER.sub(r"\1[redacted]", message)
        for secret in self.secrets:
            message = message.replace(secret, "[redacted]")
        record.msg, record.args = message, None
        return True


class _StdioFollowingHandler(RotatingFileHandler):
    """Rotates like its parent and moves fds 1 and 2 to the fresh file."""

    def _open(self) -> TextIOWrapper:
        # Log files are private like everything else under the runtime root.
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)
        return stream

    def doRollover(self) -> None:  # noqa: N802 - logging's name
        super().doRollover()
        if self.stream is not None:
            for fd in (1, 2):
                os.dup2(self.stream.fileno(), fd)


def setup(paths: RuntimePaths, secrets: list[str]) -> logging.Logger:
    """The daemon's logger writing to :func:`log_file`; ``secrets`` are always masked.

    The list is kept by reference: append the control token once it exists.
    """
    handler = _StdioFollowingHandler(log_file(paths), maxBytes=MAX_BYTES,
                                     backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s pid=%(process)d %(levelname)s "
                                           "%(message)s"))
    handler.addFilter(_Redact(secrets))
    logger = logging.getLogger(LOGGER)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger
