"""The `facturier` command line."""

from facturier.cli.main import main

__all__ = ["main"]
