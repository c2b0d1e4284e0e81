"""Forms of the web UI: parse and check the input, then a view calls one service."""
