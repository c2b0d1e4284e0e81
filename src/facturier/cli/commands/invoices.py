"""`facturier invoices …`: list and show documents, issue drafts, credit invoices."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click

from facturier.cli.main import cli, friendly_errors
from facturier.cli.params import (
    AMOUNT,
    actor,
    company_option,
    resolve_company,
    resolve_invoice,
)
from facturier.core.money import format_amount, format_date


@cli.group()
def invoices() -> None:
    """Invoices and credit notes."""


def _row(inv: Any) -> dict[str, Any]:
    return {
        "id": inv.pk,
        "number": inv.number,
        "type": inv.doc_type,
        "status": inv.status,
        "customer": inv.customer.legal_name,
        "customer_code": inv.customer.code,
        "issue_date": inv.issue_date.isoformat() if inv.issue_date else None,
        "due_date": inv.due_date.isoformat() if inv.due_date else None,
        "currency": inv.currency,
        "total_net": str(inv.total_net),
        "total_vat": str(inv.total_vat),
        "total_gross": str(inv.total_gross),
        # What remains to pay is an invoice's; a credit note has no balance of its own.
        "balance": str(inv.balance) if _payable(inv) else None,
        "settlement": inv.settlement if _payable(inv) else None,
    }


def _payable(inv: Any) -> bool:
    return bool(inv.is_issued and inv.doc_type == "invoice")


def _percent(rate: Any) -> str:
    """A VAT rate the French way: "20 %", "5,5 %", "0 %"."""
    text = format(Decimal(str(rate)).normalize(), "f")
    return text.replace(".", ",") + "\u00a0%"


@invoices.command("list")
@company_option
@click.option("--status", type=click.Choice(["draft", "issued"]), help="Only this status.")
@click.option(
    "--type", "doc_type", type=click.Choice(["invoice", "credit_note"]), help="Only this type."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@friendly_errors
def list_(company_ref: str | None, status: str | None, doc_type: str | None, as_json: bool) -> None:
    """List documents: number, type, status, customer, issue date, totals, balance."""
    from facturier.billing.selectors import invoices_list

    company = resolve_company(company_ref)
    rows = [_row(inv) for inv in invoices_list(company=company, status=status, doc_type=doc_type)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No documents.")
        return
    header = f"{'Number':<16} {'Type':<11} {'Status':<7} {'Customer':<28} {'Issued':<10}"
    click.echo(f"{header} {'Excl. VAT':>14} {'VAT':>12} {'Total':>14} {'Balance':>14}")
    for r in rows:
        click.echo(_line(r))


def _line(r: dict[str, Any]) -> str:
    from datetime import date
    from decimal import Decimal

    def money(v: str | None) -> str:
        return format_amount(Decimal(v), r["currency"]) if v is not None else ""

    issued = format_date(date.fromisoformat(r["issue_date"])) if r["issue_date"] else ""
    label = r["number"] or f"(draft {r['id']})"
    return (
        f"{label:<16} {r['type']:<11} {r['status']:<7} {r['customer'][:28]:<28} {issued:<10} "
        f"{money(r['total_net']):>14} {money(r['total_vat']):>12} {money(r['total_gross']):>14} "
        f"{money(r['balance']):>14}"
    )


@invoices.command("show")
@click.argument("number")
@company_option
@friendly_errors
def show(number: str, company_ref: str | None) -> None:
    """Show one document (a number, or a draft's id) with its lines and VAT breakdown."""

    company = resolve_company(company_ref)
    if number.isdigit() and not company.invoices.filter(number=number).exists():
        inv = _draft(company, int(number))
    else:
        inv = resolve_invoice(company, number)
    r = _row(inv)
    click.echo(_line(r))
    for line in inv.lines.order_by("position"):
        total = format_amount(line.net_amount, inv.currency)
        price = format_amount(line.unit_price.normalize(), inv.currency)
        mark = "  (quantity to confirm)" if line.placeholder_quantity and not inv.is_issued else ""
        click.echo(
            f"  {line.position:>2}. {line.quantity.normalize():>8} × {price:>12}"
            f"  {line.description[:50]:<50} {total:>14}{mark}"
        )
    for b in inv.vat_breakdown:
        base = format_amount(Decimal(str(b["base"])), inv.currency)
        vat = format_amount(Decimal(str(b["vat"])), inv.currency)
        click.echo(f"  VAT {b['category']} {_percent(b['rate'])} on {base}: {vat}")
    _show_reminders(inv)
    from facturier.cli.commands.mail import delivery_lines

    for delivery in delivery_lines(inv):  # the emails sent and their delivery log
        click.echo(delivery)


AS_IS = click.option(
    "--as-is", "as_is", is_flag=True,
    help="Confirm the quantities of the lines to confirm as they are (placeholders included).",
)  # fmt: skip


def _placeholder_hint(draft_id: int, exc: Exception) -> click.ClickException:
    """A line still to confirm: say how to give its quantity, or to confirm it as it is."""
    field = getattr(exc, "field", None) or ""
    position = field.removeprefix("lines[").split("]")[0]
    return click.ClickException(
        f"{getattr(exc, 'message', exc)} Give it with `facturier invoices set-line {draft_id} "
        f"{position} --quantity Q`, or add --as-is."
    )


@invoices.command("issue")
@click.argument("draft_id", type=int)
@AS_IS
@company_option
@friendly_errors
def issue(draft_id: int, as_is: bool, company_ref: str | None) -> None:
    """Issue a draft: number it, date it today, freeze it."""
    from facturier.billing.services import NotAllowed, invoice_issue

    company = resolve_company(company_ref)
    draft = _draft(company, draft_id)
    try:
        inv = invoice_issue(draft, actor=actor(), as_is=as_is)
    except NotAllowed as exc:
        if (exc.field or "").endswith("].quantity"):
            raise _placeholder_hint(draft_id, exc) from exc
        raise
    assert inv.issue_date is not None  # set by issuing
    click.echo(f"Issued {inv.number} on {format_date(inv.issue_date)}.")


def _draft(company: Any, draft_id: int) -> Any:
    draft = company.invoices.filter(pk=draft_id).first()
    if draft is None:
        raise click.ClickException(f"no draft with id {draft_id}")
    if draft.is_issued:
        raise click.ClickException(f"document {draft_id} is already issued as {draft.number}")
    return draft


@invoices.command("credit")
@click.argument("number")
@click.option("--reason", default="", help="Why the invoice is credited (printed).")
@company_option
@friendly_errors
def credit(number: str, reason: str, company_ref: str | None) -> None:
    """Cancel an issued invoice with a full credit note."""
    from facturier.billing.services import credit_note_create

    company = resolve_company(company_ref)
    inv = resolve_invoice(company, number)
    note = credit_note_create(inv, actor=actor(), reason=reason)
    click.echo(f"Issued credit note {note.number} for {format_amount(note.total_gross)}.")


@invoices.command("set-line")
@click.argument("draft_id", type=int)
@click.argument("position", type=click.IntRange(min=1))
@click.option("--quantity", type=AMOUNT, help="The line's quantity (a to-confirm hour count, say).")
@click.option("--price", type=AMOUNT, help="The unit price excl. VAT.")
@click.option("--description", help="The line's text.")
@company_option
@friendly_errors
def set_line(
    draft_id: int,
    position: int,
    quantity: Decimal | None,
    price: Decimal | None,
    description: str | None,
    company_ref: str | None,
) -> None:
    """Change one line of a draft before it is issued or confirmed.

    POSITION is the line's number in `facturier invoices show DRAFT_ID`. The totals are
    computed again; an issued document never changes (issue a credit note).
    """
    from dataclasses import replace

    from facturier.billing.services.drafts import invoice_update_draft, line_data_of

    if quantity is None and price is None and description is None:
        raise click.UsageError("give --quantity, --price or --description")
    company = resolve_company(company_ref)
    draft = _draft(company, draft_id)
    lines = [line_data_of(line) for line in draft.lines.order_by("position")]
    if position > len(lines):
        raise click.ClickException(f"draft {draft_id} has {len(lines)} line(s), not {position}")
    changes: dict[str, Any] = {
        "quantity": quantity, "unit_price": price, "description": description,
    }  # fmt: skip
    given = {k: v for k, v in changes.items() if v is not None}
    if quantity is not None:
        given["placeholder_quantity"] = False  # the quantity is now a person's
    lines[position - 1] = replace(lines[position - 1], **given)
    draft = invoice_update_draft(draft, lines=lines, actor=actor())
    click.echo(
        f"Draft {draft.pk}: line {position} changed; total "
        f"{format_amount(draft.total_gross, draft.currency)} incl. VAT."
    )


@invoices.command("confirm")
@click.argument("draft_id", type=int)
@AS_IS
@company_option
@friendly_errors
def confirm(draft_id: int, as_is: bool, company_ref: str | None) -> None:
    """Confirm a recurring draft (review or lines to confirm) and issue it.

    A line to confirm whose quantity nobody gave yet (set-line) is refused unless --as-is.
    """
    from facturier.billing.services import NotAllowed
    from facturier.billing.services.subscriptions import draft_confirm

    company = resolve_company(company_ref)
    draft = _draft(company, draft_id)
    try:
        inv = draft_confirm(draft, actor=actor(), as_is=as_is)
    except NotAllowed as exc:
        if (exc.field or "").endswith("].quantity"):
            raise _placeholder_hint(draft_id, exc) from exc
        raise
    assert inv.issue_date is not None  # set by issuing
    click.echo(f"Issued {inv.number} on {format_date(inv.issue_date)}.")


def _archived_bytes(number: str, company_ref: str | None, which: str) -> bytes:
    """The archived file, checked against its recorded SHA-256: a missing or altered file is
    refused (ArchiveDamaged), never handed out as the original."""
    from facturier.billing.models import ArchivedDocument
    from facturier.billing.services.audit import archived_bytes

    company = resolve_company(company_ref)
    inv = resolve_invoice(company, number)
    arch = ArchivedDocument.objects.filter(invoice=inv).first()
    if arch is None:
        raise click.ClickException(
            f"{number} is not archived yet: the worker renders it (facturier worker --until-idle)"
        )
    return archived_bytes(arch, which)


def _write_out(data: bytes, output: str | None, default_name: str) -> None:
    import sys
    from pathlib import Path

    if output == "-":
        sys.stdout.buffer.write(data)
        return
    target = Path(output or default_name)
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {target} ({len(data)} bytes).", err=True)


@invoices.command("pdf")
@click.argument("number")
@click.option("-o", "--output", metavar="FILE", help="Where to write it ('-' for stdout).")
@company_option
@friendly_errors
def pdf(number: str, output: str | None, company_ref: str | None) -> None:
    """Write the archived PDF/A-3 (with its Factur-X XML) of an issued document."""
    data = _archived_bytes(number, company_ref, "pdf")
    _write_out(data, output, f"{number.replace('/', '_')}.pdf")


@invoices.command("xml")
@click.argument("number")
@click.option("-o", "--output", metavar="FILE", help="Where to write it ('-' for stdout).")
@company_option
@friendly_errors
def xml(number: str, output: str | None, company_ref: str | None) -> None:
    """Write the archived Factur-X / EN 16931 CII XML of an issued document."""
    data = _archived_bytes(number, company_ref, "xml")
    _write_out(data, output, f"{number.replace('/', '_')}.xml")


def _show_reminders(inv: Any) -> None:
    """The dispute flag and the reminders sent (see `facturier reminders list NUMBER`)."""
    from facturier.billing.services.dunning import reminders_list
    from facturier.cli.commands.reminders import reminder_lines

    if inv.disputed:
        click.echo("Disputed by the customer: no reminders until the dispute is cleared.")
    lines = reminder_lines(reminders_list(company=inv.company, invoice=inv))
    if lines:
        click.echo("Reminders:")
    for line in lines:
        click.echo(f"  {line}")


@invoices.command("dispute")
@click.argument("number")
@click.option("--clear", is_flag=True, help="Clear the dispute flag (reminders resume).")
@company_option
@friendly_errors
def dispute(number: str, clear: bool, company_ref: str | None) -> None:
    """Flag an issued invoice as disputed by the customer: no reminder is sent while it is."""
    from facturier.billing.services.dunning import invoice_dispute_set

    company = resolve_company(company_ref)
    inv = resolve_invoice(company, number)
    invoice_dispute_set(inv, disputed=not clear, by=actor())
    click.echo(f"{inv.number}: dispute {'cleared' if clear else 'recorded'}.")


@invoices.command("send")
@click.argument("number")
@company_option
@friendly_errors
def send(number: str, company_ref: str | None) -> None:
    """Email an issued document to the customer (again): a new message each time."""
    from facturier.billing.services.outbox import invoice_email_send

    company = resolve_company(company_ref)
    inv = resolve_invoice(company, number)
    msg = invoice_email_send(inv, actor=actor())
    to = ", ".join(inv.customer.billing_emails)
    click.echo(
        f"Queued email #{msg.pk} of {inv.number} to {to}; the worker sends it "
        f"(facturier mail show {msg.pk})."
    )
