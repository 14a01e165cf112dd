"""Doing the work: next, prompts, lane worktrees, the guard, accept."""
