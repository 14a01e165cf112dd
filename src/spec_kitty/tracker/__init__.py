"""Issue trackers: the binding in ``.kittify/config.yaml``, local providers (beads, fp)
with their SQLite cache and sync engine, and the interface to hub-backed providers.

Nothing here is imported at CLI start-up; commands import the modules they need.
"""
