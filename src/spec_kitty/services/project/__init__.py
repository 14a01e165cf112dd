"""The project itself: init, verify-setup, merge drivers, context."""
