"""The subcommands of `facturier`, one module per area."""

from facturier.cli.commands import audit, invoices, payments, system

__all__ = ["audit", "invoices", "payments", "system"]
