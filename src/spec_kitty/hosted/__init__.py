"""The hosted half's foundation: rollout gate, runtime root, user config, readiness.

Everything hosted (``auth``, ``sync``, ``tracker``, the daemon) starts here:

- :mod:`spec_kitty.hosted.gate`: is ``SPEC_KITTY_ENABLE_SAAS_SYNC`` on? (read per call)
- :mod:`spec_kitty.hosted.runtime`: ``~/.spec-kitty`` (or ``$SPEC_KITTY_HOME``) and its files
- :mod:`spec_kitty.hosted.config`: ``<runtime>/config.toml`` read and (format-keeping) write
- :mod:`spec_kitty.hosted.server`: which hub URL to use, and whether it is acceptable
- :mod:`spec_kitty.hosted.readiness`: one evaluator naming the first missing prerequisite

Kept import-free on purpose: the CLI consults the gate on every start-up.
"""
