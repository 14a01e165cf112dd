"""The self-hostable team hub (FastAPI + SQLAlchemy). It imports only ``spec_kitty.core``
from the CLI package; provider connectors live in :mod:`spec_kitty_hub.connectors`."""
