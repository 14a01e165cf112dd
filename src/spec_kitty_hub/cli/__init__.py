"""``spec-kitty-hub``: the operator's commands (serve, migrate, users, teams, devices)."""
