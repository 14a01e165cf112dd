"""A thin wrapper over the ``git`` command line (worktrees, branches, merges)."""
