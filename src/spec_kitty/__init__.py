"""spec-kitty: spec-driven development with AI coding agents."""

__version__ = "0.1.0"
