"""The event-sync contract shared by the CLI and the hub: envelope, JSON Schemas, protocol
version.
"""
