"""The sync boundary: do the foreground CLI, the daemon, the queue and the login agree?

- :mod:`.migrate`: legacy unscoped ``<runtime>/queue.db`` rows → the scoped queue,
  row by row, without loss (``sync migrate``, and before every ``sync now``)
- :mod:`.check`: ``sync status --check``: the foreground's view against the daemon's
  owner record, the queues and the hub (exit 2 when incoherent)
- :mod:`.identity`: this CLI against the owner record, no network (also plain
  ``sync status``)
- :mod:`.doctor`: ``sync doctor``: findings with severity and the command that fixes each
- :mod:`.switch`: ``auth login`` refuses to switch account/hub/team while events are pending
"""
