"""`facturier payments …`: record payments and allocate them to invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import click

from facturier.cli.main import cli, friendly_errors
from facturier.cli.params import (
    AMOUNT,
    DATE,
    actor,
    company_option,
    resolve_company,
    resolve_customer,
)
from facturier.core.money import format_amount, format_date, parse_amount

METHODS = ["transfer", "direct_debit", "card", "cheque", "cash", "other"]


@cli.group()
def payments() -> None:
    """Payments received."""


@payments.command("record")
@click.option("--customer", "customer_ref", required=True, help="Customer code or SIREN.")
@click.option("--amount", type=AMOUNT, required=True, help="Amount received, e.g. 1234,56.")
@click.option("--date", "received_on", type=DATE, help="Date received (default: today).")
@click.option("--method", type=click.Choice(METHODS), default="transfer", show_default=True)
@click.option("--reference", default="", help="Bank reference or cheque number.")
@click.option(
    "--invoice",
    "allocations",
    multiple=True,
    metavar="NUMBER[=AMOUNT]",
    help="Settle this invoice (by AMOUNT, else its balance). Repeat for several. "
    "Without it, the oldest open invoices are settled first.",
)
@company_option
@friendly_errors
def record(
    customer_ref: str,
    amount: Decimal,
    received_on: date | None,
    method: str,
    reference: str,
    allocations: tuple[str, ...],
    company_ref: str | None,
) -> None:
    """Record a payment and settle invoices with it; any rest stays as customer credit."""
    from facturier.billing import clock
    from facturier.billing.selectors import customer_credit, invoice_by_number
    from facturier.billing.services import payment_record

    company = resolve_company(company_ref)
    customer = resolve_customer(company, customer_ref)
    plan = None
    if allocations:
        plan = []
        for spec in allocations:
            number, _, share = spec.partition("=")
            number = number.strip()
            inv = invoice_by_number(number, company=company) if number else None
            if inv is None:
                raise click.BadParameter(f"no invoice numbered '{number}'", param_hint="--invoice")
            try:
                plan.append((inv, parse_amount(share) if share else inv.balance))
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--invoice") from exc
    payment = payment_record(
        customer=customer,
        amount=amount,
        received_on=received_on or clock.company_today(company),
        method=method,
        reference=reference,
        allocations=plan,
        actor=actor(),
    )
    click.echo(
        f"Recorded {format_amount(payment.amount, payment.currency)} from {customer.legal_name}"
        f" on {format_date(payment.received_on)}."
    )
    for alloc in payment.allocations.select_related("invoice"):
        inv = alloc.invoice
        click.echo(
            f"  {inv.number}: {format_amount(alloc.amount)} → balance "
            f"{format_amount(inv.balance)} ({inv.settlement})"
        )
    click.echo(f"Customer credit: {format_amount(customer_credit(customer))}")


@payments.command("list")
@company_option
@friendly_errors
def list_(company_ref: str | None) -> None:
    """List payments with what they settled."""
    from facturier.billing.models import Payment

    company = resolve_company(company_ref)
    qs = Payment.objects.filter(company=company).select_related("customer").order_by("received_on")
    for p in qs.prefetch_related("allocations__invoice"):
        settled = ", ".join(f"{a.invoice.number}" for a in p.allocations.all()) or "-"
        click.echo(
            f"{format_date(p.received_on)} {p.customer.legal_name[:28]:<28} "
            f"{format_amount(p.amount, p.currency):>14} {p.method:<12} {settled}"
        )
