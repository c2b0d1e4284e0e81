"""The subcommands of `facturier`, one module per area."""

from facturier.cli.commands import (
    audit,
    billing,
    invoices,
    mail,
    payments,
    reminders,
    subscriptions,
    system,
)

__all__ = [
    "audit",
    "billing",
    "invoices",
    "mail",
    "payments",
    "reminders",
    "subscriptions",
    "system",
]
