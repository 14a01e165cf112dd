"""spec-kitty-hub: the self-hostable team hub (accounts, teams, OAuth for the CLI).

Layout, top to bottom: ``cli`` (admin commands) and ``api`` (FastAPI routes and pages)
call ``services`` (one module per use case), which use ``db`` (SQLAlchemy models,
engine, Alembic migrations) and ``security`` (tokens, PKCE, passwords); provider
connectors live in ``connectors``. Only ``spec_kitty.core`` is shared with the CLI
package.
"""

__version__ = "0.1.0"
