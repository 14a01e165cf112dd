"""The status event log on disk: locked appends, streaming reads and the snapshot cache.
"""
