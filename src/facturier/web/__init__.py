"""The web UI: server-rendered Django templates with htmx, for owners, accountants and sales."""
