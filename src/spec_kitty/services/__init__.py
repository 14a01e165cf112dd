"""Use cases: each function is one command's behaviour, composed from core/repo/git."""
