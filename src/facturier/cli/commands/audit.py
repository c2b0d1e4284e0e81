"""`facturier audit …`: check the tamper-evident chains."""

from __future__ import annotations

import sys

import click

from facturier.cli.main import EXIT_FAILED, cli


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command()
def verify() -> None:
    """Recompute every hash chain (audit events, issued documents); exit 1 on a break."""
    from facturier.billing.models import AuditEvent, Invoice
    from facturier.billing.services import audit_verify

    breaks = audit_verify()
    events = AuditEvent.objects.count()
    docs = Invoice.objects.filter(status="issued").count()
    if breaks:
        for brk in breaks:
            click.echo(f"BROKEN: {brk}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"OK: {events} audit events and {docs} issued documents verified.")
