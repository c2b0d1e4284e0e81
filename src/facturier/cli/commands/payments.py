"""`facturier payments …`: record payments, allocate them, reverse them, refund credit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

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
REFUND_METHODS = [m for m in METHODS if m != "direct_debit"]


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
        f"Recorded payment #{payment.pk}: {format_amount(payment.amount, payment.currency)} from"
        f" {customer.legal_name} on {format_date(payment.received_on)}."
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
    """List payments (id, what they settle, reversed or not), then refunds."""
    from facturier.billing.models import Payment, PaymentReversal, Refund
    from facturier.billing.services.payment_corrections import payment_settled

    company = resolve_company(company_ref)
    qs = Payment.objects.filter(company=company).select_related("customer").order_by("received_on")
    reversals = {r.payment_id: r for r in PaymentReversal.objects.filter(payment__company=company)}
    for p in qs.prefetch_related("allocations__invoice"):
        numbers = {a.invoice_id: a.invoice.number for a in p.allocations.all()}
        settled = ", ".join(str(numbers[pk]) for pk in payment_settled(p)) or "-"
        reversal = reversals.get(p.pk)
        if reversal is not None:
            settled = f"REVERSED on {format_date(reversal.reversed_on)}: {reversal.reason}"
        click.echo(
            f"#{p.pk:<6} {format_date(p.received_on)} {p.customer.legal_name[:28]:<28} "
            f"{format_amount(p.amount, p.currency):>14} {p.method:<12} {settled}"
        )
    refunds = Refund.objects.filter(company=company).select_related("customer")
    for r in refunds.order_by("refunded_on", "pk"):
        click.echo(
            f"refund  {format_date(r.refunded_on)} {r.customer.legal_name[:28]:<28} "
            f"{format_amount(-r.amount, r.currency):>14} {r.method:<12} {r.reference or '-'}"
        )


@payments.command("show")
@click.argument("payment_id", type=int)
@company_option
@friendly_errors
def show(payment_id: int, company_ref: str | None) -> None:
    """A payment and its history: each allocation and release, refunds drawn, reversal."""
    from facturier.billing.models import PaymentReversal, RefundDraw
    from facturier.billing.services.payments import payment_unallocated

    company = resolve_company(company_ref)
    p = _payment(company, payment_id)
    click.echo(
        f"Payment #{p.pk}: {format_amount(p.amount, p.currency)} from {p.customer.legal_name}, "
        f"received {format_date(p.received_on)}, {p.method}, reference {p.reference or '-'}, "
        f"recorded by {p.recorded_by}"
    )
    for a in p.allocations.select_related("invoice").order_by("pk"):
        what = "settles" if a.amount > 0 else "releases"
        note = f" ({a.note})" if a.note else ""
        click.echo(
            f"  {a.created_at:%Y-%m-%d %H:%M} {what} {a.invoice.number}: "
            f"{format_amount(abs(a.amount), p.currency)}{note}"
        )
    for d in RefundDraw.objects.filter(payment=p).select_related("refund").order_by("pk"):
        click.echo(
            f"  {format_date(d.refund.refunded_on)} refunded: {format_amount(d.amount, p.currency)}"
        )
    reversal = PaymentReversal.objects.filter(payment=p).first()
    if reversal is not None:
        click.echo(
            f"REVERSED on {format_date(reversal.reversed_on)} by {reversal.recorded_by}: "
            f"{reversal.reason}"
        )
    click.echo(f"On account: {format_amount(payment_unallocated(p), p.currency)}")


def _payment(company: Any, payment_id: int) -> Any:
    from facturier.billing.models import Payment

    payment = Payment.objects.filter(company=company, pk=payment_id).first()
    if payment is None:
        raise click.ClickException(f"no payment #{payment_id} (see `facturier payments list`)")
    return payment


def _invoice_amounts(company: Any, specs: tuple[str, ...], option: str) -> list[tuple[Any, Any]]:
    """`NUMBER[=AMOUNT]` values: the invoices (and their amounts, None when not given)."""
    from facturier.billing.selectors import invoice_by_number

    out = []
    for spec in specs:
        number, _, share = spec.partition("=")
        invoice = invoice_by_number(number.strip(), company=company) if number.strip() else None
        if invoice is None:
            raise click.BadParameter(f"no invoice numbered '{number.strip()}'", param_hint=option)
        try:
            out.append((invoice, parse_amount(share) if share else None))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from exc
    return out


@payments.command("reverse")
@click.argument("payment_id", type=int)
@click.option("--reason", required=True, help="Why, e.g. 'Chèque impayé' (told to the rep).")
@click.option("--date", "reversed_on", type=DATE, help="Date of the reversal (default: today).")
@company_option
@friendly_errors
def reverse(
    payment_id: int, reason: str, reversed_on: date | None, company_ref: str | None
) -> None:
    """Reverse a payment: a dated counter-entry; the invoices it settled are open again.

    The payment stays in the history, marked reversed; it cannot be reversed twice.
    """
    from facturier.billing import clock
    from facturier.billing.selectors import customer_credit
    from facturier.billing.services import payment_reverse

    company = resolve_company(company_ref)
    payment = _payment(company, payment_id)
    reversal = payment_reverse(
        payment, reversed_on=reversed_on or clock.company_today(company), reason=reason,
        actor=actor(),
    )  # fmt: skip
    click.echo(
        f"Reversed payment #{payment.pk} of {format_amount(payment.amount, payment.currency)} "
        f"on {format_date(reversal.reversed_on)}."
    )
    for alloc in payment.allocations.filter(amount__lt=0).select_related("invoice"):
        inv = alloc.invoice
        click.echo(f"  {inv.number}: open again, balance {format_amount(inv.balance)}")
    click.echo(f"Customer credit: {format_amount(customer_credit(payment.customer))}")


@payments.command("reallocate")
@click.argument("payment_id", type=int)
@click.option(
    "--from",
    "sources",
    multiple=True,
    metavar="NUMBER[=AMOUNT]",
    help="Release this invoice (by AMOUNT, else by --amount). Repeat for several. "
    "Without it, the payment's unallocated rest is used.",
)
@click.option(
    "--to",
    "targets",
    multiple=True,
    metavar="NUMBER[=AMOUNT]",
    help="Settle this invoice (by AMOUNT, else by --amount). Repeat for several. "
    "Without it, what is released stays on the customer's account.",
)
@click.option("--amount", type=AMOUNT, help="The amount of each --from/--to without its own.")
@company_option
@friendly_errors
def reallocate(
    payment_id: int,
    sources: tuple[str, ...],
    targets: tuple[str, ...],
    amount: Decimal | None,
    company_ref: str | None,
) -> None:
    """Move what a payment settles to other invoices, in one transaction.

    e.g. `facturier payments reallocate 12 --from F2026-00003 --to F2026-00007 --amount 50`
    """  # fmt: skip
    from facturier.billing.services import payment_reallocate

    company = resolve_company(company_ref)
    payment = _payment(company, payment_id)

    def amounts(specs: tuple[str, ...], option: str) -> list[tuple[Any, Decimal]]:
        out = []
        for invoice, share in _invoice_amounts(company, specs, option):
            given = share if share is not None else amount
            if given is None:
                raise click.BadParameter(
                    f"give {invoice.number}=AMOUNT or --amount", param_hint=option
                )
            out.append((invoice, given))
        return out

    release, allocate = amounts(sources, "--from"), amounts(targets, "--to")
    if not release and not allocate:
        raise click.UsageError("give --from and/or --to")
    payment_reallocate(payment, release=release, allocate=allocate, actor=actor())
    click.echo(f"Payment #{payment.pk} re-allocated.")
    for invoice, share in release:
        invoice.refresh_from_db()
        click.echo(f"  {invoice.number}: -{format_amount(share)} → balance "
                   f"{format_amount(invoice.balance)} ({invoice.settlement})")  # fmt: skip
    for invoice, share in allocate:
        invoice.refresh_from_db()
        click.echo(f"  {invoice.number}: +{format_amount(share)} → balance "
                   f"{format_amount(invoice.balance)} ({invoice.settlement})")  # fmt: skip


@payments.command("refund")
@click.option("--customer", "customer_ref", required=True, help="Customer code or SIREN.")
@click.option("--amount", type=AMOUNT, required=True, help="At most the customer's credit.")
@click.option("--method", type=click.Choice(REFUND_METHODS), default="transfer",
              show_default=True)  # fmt: skip
@click.option("--reference", default="", help="Bank reference or cheque number.")
@click.option("--date", "refunded_on", type=DATE, help="Date paid back (default: today).")
@company_option
@friendly_errors
def refund(
    customer_ref: str,
    amount: Decimal,
    method: str,
    reference: str,
    refunded_on: date | None,
    company_ref: str | None,
) -> None:
    """Pay back part of a customer's credit (money out), recorded as a refund."""
    from facturier.billing import clock
    from facturier.billing.selectors import customer_credit
    from facturier.billing.services import credit_refund

    company = resolve_company(company_ref)
    customer = resolve_customer(company, customer_ref)
    done = credit_refund(
        customer=customer, amount=amount, refunded_on=refunded_on or clock.company_today(company),
        method=method, reference=reference, actor=actor(),
    )  # fmt: skip
    click.echo(
        f"Refunded {format_amount(done.amount, done.currency)} to {customer.legal_name}"
        f" on {format_date(done.refunded_on)}."
    )
    click.echo(f"Customer credit: {format_amount(customer_credit(customer))}")
