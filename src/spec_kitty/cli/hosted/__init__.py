"""Hosted command groups (auth, sync, tracker), gated by the rollout gate."""
