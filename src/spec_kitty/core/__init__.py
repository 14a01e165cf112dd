"""Pure domain logic: no I/O, no git, no printing."""
