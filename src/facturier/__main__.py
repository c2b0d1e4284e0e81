"""`python -m facturier` = the `facturier` command."""

from facturier.cli import main

main()
