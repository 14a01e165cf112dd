"""View data of the team pages (one module per page or use case).

Each function takes the caller's ``team_id`` (resolved from their membership) and
filters on it first; the API layer answers 404 for anything they return None for.
Templates only render what these build.
"""
