"""Local tracker providers: ``bd`` (beads) and ``fp`` run as argv subprocesses."""
