"""Missions from brief to finalized work packages: create, gates, finalize."""
