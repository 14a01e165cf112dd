"""The background sync daemon: one per machine and user (docs/sync.md, "The daemon")."""
