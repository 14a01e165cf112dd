"""Use cases of the hub, one module each; callers pass an open SQLAlchemy session."""
