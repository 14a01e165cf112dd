"""HTTP layer: the FastAPI app, JSON endpoints and the HTML pages."""
