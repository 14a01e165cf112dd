"""Work-package status: the one write path, claims, reviews, the board."""
