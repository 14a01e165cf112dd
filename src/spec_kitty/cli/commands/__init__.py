"""The user-facing top-level commands, one module each."""
