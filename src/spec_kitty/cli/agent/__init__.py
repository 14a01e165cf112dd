"""``spec-kitty agent …``: the JSON-first commands agents run."""
