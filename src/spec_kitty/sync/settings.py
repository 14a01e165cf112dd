"""Sync settings from ``<runtime>/config.toml`` ``[sync]``.

``max_queue_size``  capacity of each queue file (default 100,000; a positive integer)
"""

from __future__ import annotations

from spec_kitty.hosted.config import UserConfigError, get_setting, read_user_config
from spec_kitty.hosted.runtime import RuntimePaths
from spec_kitty.sync.queue import DEFAULT_MAX_QUEUE_SIZE

SECTION = "sync"


def max_queue_size(paths: RuntimePaths) -> int:
    """The configured capacity; raises :class:`UserConfigError` for a bad value."""
    if not paths.config_file.exists():
        return DEFAULT_MAX_QUEUE_SIZE
    value = get_setting(read_user_config(paths), SECTION, "max_queue_size", paths.config_file)
    if value is None:
        return DEFAULT_MAX_QUEUE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserConfigError(paths.config_file, "sync.max_queue_size must be a positive "
                              "integer", key="sync.max_queue_size")
    return value
