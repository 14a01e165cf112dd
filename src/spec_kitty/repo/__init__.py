"""The project on disk: paths, config, missions, event logs, templates."""
