"""The canonical issue model and the ownership/merge rules, shared by the CLI and the hub.
"""
