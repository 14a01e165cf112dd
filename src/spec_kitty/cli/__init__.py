"""Command-line interface: parse, call a service, render. No business logic here."""
