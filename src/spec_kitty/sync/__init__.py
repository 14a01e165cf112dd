"""Event sync: every status change reaches the team hub, exactly once, even offline.

- :mod:`.clock`: the machine's Lamport clock (cross-process lock) and node id
- :mod:`.scope`: the auth scope (hub, user, team) and its queue file
- :mod:`.queue`: the SQLite offline queue (WAL, rows only while pending, never evicts)
- :mod:`.context`: project identity and git position of an envelope
- :mod:`.emitter`: status events → envelopes → queue, after every status write
- :mod:`.batch`, :mod:`.drain`: ``sync now`` (limits, halving, bisection, results)
- :mod:`.report`: summary categories and hints, ``sync status`` and ``sync diagnose``
- :mod:`.backfill`: re-queue every repo-log event the hub has not acknowledged

Nothing is imported here so the emitter's hook stays cheap.
"""
