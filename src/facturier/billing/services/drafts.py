"""Draft invoices and credit notes: created, edited and deleted freely, never numbered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.models import (
    Company,
    Customer,
    DocType,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Product,
    Subscription,
)
from facturier.billing.models.company import VatRegime
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.billing.services.limits import (
    AMOUNT,
    QUANTITY,
    UNIT_PRICE,
    check_period,
    check_size,
    check_text,
    check_visible,
    fits,
)
from facturier.core import totals as core_totals
from facturier.core import vat
from facturier.core.roles import Can
from facturier.core.units import check_unit


@dataclass(frozen=True)
class LineData:
    """One line as a caller gives it; missing values come from the product."""

    description: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    vat_code: str | None = None
    unit_code: str | None = None
    discount_percent: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    kind: str | None = None
    product: Product | None = None
    period_start: date | None = None
    period_end: date | None = None
    # A recurring line "to confirm" whose quantity nobody has confirmed yet (see InvoiceLine).
    placeholder_quantity: bool = False


def line_data_of(line: InvoiceLine) -> LineData:
    """A stored line's values, every one explicit (nothing falls back to its product)."""
    return LineData(
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        vat_code=line.vat_code,
        unit_code=line.unit_code,
        discount_percent=line.discount_percent,
        discount_amount=line.discount_amount,
        kind=line.kind,
        product=line.product,
        period_start=line.period_start,
        period_end=line.period_end,
        placeholder_quantity=line.placeholder_quantity,
    )


def _decimal(value: object, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"not a number: {value!r}", field=field) from exc


class LineLike(Protocol):
    """What LineData and SubscriptionLineData share: values that default to the product's."""

    @property
    def description(self) -> str: ...
    @property
    def unit_price(self) -> Decimal | None: ...
    @property
    def vat_code(self) -> str | None: ...
    @property
    def unit_code(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def product(self) -> Product | None: ...


# InvoiceLine.description and SubscriptionLine.description (CharField max_length).
DESCRIPTION_MAX = 500
CUSTOMER_PO_MAX = 50  # Invoice.customer_po


@dataclass(frozen=True)
class ResolvedLine:
    description: str
    unit_price: Decimal
    vat: vat.VatRate
    unit_code: str
    kind: str


def resolve_line(
    data: LineLike, *, company: Company, where: str, vat_code: str | None = None
) -> ResolvedLine:
    """Fill a line's missing values from its product, validated (InvalidInput names the
    field); `vat_code` forces the VAT treatment (franchise en base)."""
    product = data.product
    if product is not None and product.company_id != company.pk:
        raise InvalidInput("product of another company", field=f"{where}.product")
    description = (data.description or (product.name if product else "")).strip()
    if not description:
        raise InvalidInput("a line needs a description", field=f"{where}.description")
    check_text(description, f"{where}.description", max_length=DESCRIPTION_MAX)
    check_visible(description, f"{where}.description")
    price = data.unit_price
    if price is None and product is not None:
        price = product.unit_price
    if price is None:
        raise InvalidInput(_("a line needs a unit price"), field=f"{where}.unit_price")
    try:
        rate = vat.vat_rate(vat_code or data.vat_code or (product.vat_code if product else "FR-20"))
        unit = check_unit(data.unit_code or (product.unit_code if product else "C62"))
    except ValueError as exc:
        raise InvalidInput(str(exc), field=where) from exc
    kind = data.kind or (product.kind if product else "services")
    price = check_size(price, f"{where}.unit_price", **UNIT_PRICE)
    return ResolvedLine(description, price, rate, unit, kind)


def build_lines(company: Company, lines: Sequence[LineData]) -> list[InvoiceLine]:
    """Unsaved InvoiceLine rows with their nets, or InvalidInput naming the line and field."""
    built = []
    for position, data in enumerate(lines, start=1):
        where = f"lines[{position}]"
        # No VAT may be charged under franchise en base (VATM-01).
        franchise = company.vat_regime == VatRegime.FRANCHISE
        resolved = resolve_line(
            data, company=company, where=where, vat_code="FR-0-FRANCHISE" if franchise else None
        )
        rate = resolved.vat
        line_input = core_totals.LineInput(
            quantity=check_size(data.quantity, f"{where}.quantity", **QUANTITY),
            unit_price=resolved.unit_price,
            vat_category=rate.category,
            vat_rate=rate.rate,
            discount_percent=_decimal(data.discount_percent, f"{where}.discount_percent"),
            discount_amount=check_size(data.discount_amount, f"{where}.discount_amount", **AMOUNT),
            exemption_reason=rate.exemption_reason_fr,
        )
        # The decimals are checked by the e-invoicing rules (validate_line), the size above.
        try:
            core_totals.validate_line(line_input)
            net = core_totals.line_net(line_input, company.currency).net
        except ValueError as exc:
            raise InvalidInput(str(exc), field=where) from exc
        if not fits(net, **AMOUNT):
            raise InvalidInput(
                _("the line amount (quantity × unit price) is too large"), field=where
            )
        built.append(
            InvoiceLine(
                position=position,
                product=data.product,
                description=resolved.description,
                kind=resolved.kind,
                quantity=line_input.quantity,
                unit_code=resolved.unit_code,
                unit_price=line_input.unit_price,
                discount_percent=line_input.discount_percent,
                discount_amount=line_input.discount_amount,
                vat_code=rate.code,
                vat_category=str(rate.category),
                vat_rate=rate.rate,
                exemption_reason=rate.exemption_reason_fr,
                net_amount=net,
                period_start=data.period_start,
                period_end=data.period_end,
                placeholder_quantity=data.placeholder_quantity,
            )
        )
    return built


def _check_periods(
    company: Company, lines: Sequence[LineData], start: date | None, end: date | None
) -> None:
    """The invoice's service period and each line's: within the dates anyone may give, the
    end not before the start, at most `limits.MAX_PERIOD_YEARS` long (0001-01-01 to
    9999-12-31 is a typing mistake, not a service)."""
    today = clock.company_today(company)
    check_period(start, end, "period_start", end_field="period_end", today=today)
    for position, data in enumerate(lines, start=1):
        where = f"lines[{position}]"
        check_period(data.period_start, data.period_end, f"{where}.period_start",
                     end_field=f"{where}.period_end", today=today)  # fmt: skip


def check_reverse_charge(customer: Customer, categories: Sequence[str]) -> None:
    """Reverse charge (category AE, « Autoliquidation ») makes the customer liable for the
    VAT in the seller's place: only a business identified for VAT can be, and the invoice
    must show its VAT number (LEGAL-FR VATM-03, EU-01; art. 242 nonies A I CGI). A line at
    that rate for anyone else is refused, naming the line's VAT field."""
    for position, category in enumerate(categories, start=1):
        if category != vat.VatCategory.AE:
            continue
        field = f"lines[{position}].vat_code"
        if not customer.is_business:
            raise InvalidInput(
                _(
                    "reverse charge (autoliquidation) is for business customers only: "
                    "%(customer)s is a consumer, who cannot pay the VAT in your place; "
                    "choose the VAT rate that applies"
                )
                % {"customer": customer.legal_name},
                field=field,
            )
        if not customer.vat_number:
            raise InvalidInput(
                _(
                    "reverse charge (autoliquidation) needs the customer's VAT number, "
                    "printed on the invoice: add %(customer)s's VAT number first"
                )
                % {"customer": customer.legal_name},
                field=field,
            )


def line_inputs(lines: Sequence[InvoiceLine]) -> list[core_totals.LineInput]:
    return [
        core_totals.LineInput(
            quantity=line.quantity,
            unit_price=line.unit_price,
            vat_category=vat.VatCategory(line.vat_category),
            vat_rate=line.vat_rate,
            discount_percent=line.discount_percent,
            discount_amount=line.discount_amount,
            exemption_reason=line.exemption_reason,
        )
        for line in lines
    ]


def _set_totals(invoice: Invoice, lines: Sequence[InvoiceLine]) -> None:
    try:
        result = core_totals.compute_totals(line_inputs(lines), invoice.currency)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="lines") from exc
    if not all(fits(t, **AMOUNT) for t in (result.net, result.vat, result.gross)):
        raise InvalidInput(_("the invoice total is too large"), field="lines")
    invoice.total_net = result.net
    invoice.total_vat = result.vat
    invoice.total_gross = result.gross
    invoice.vat_breakdown = [
        {
            "category": str(b.category),
            "rate": str(b.rate),
            "base": str(b.base),
            "vat": str(b.vat),
            "exemption_reason": b.exemption_reason,
        }
        for b in result.breakdown
    ]


@dataclass
class DraftBuild:
    """An unsaved draft and its lines: validated, totals computed, nothing written yet."""

    invoice: Invoice
    lines: list[InvoiceLine]


def drafts_save(builds: Sequence[DraftBuild]) -> None:
    """Write many built drafts with two INSERT statements (the billing run's path)."""
    Invoice.objects.bulk_create([b.invoice for b in builds])
    for b in builds:
        for line in b.lines:
            line.invoice = b.invoice
    InvoiceLine.objects.bulk_create([line for b in builds for line in b.lines])


@transaction.atomic
def invoice_create(*, actor: Actor, company: Company, **fields: Any) -> Invoice:
    """A draft (no number, no issue date) with its lines and provisional totals.

    Takes the keyword arguments of `draft_build`. Preparing invoices needs EDIT_DRAFTS
    (credit notes are checked by `credit_note_create`).
    """
    actor_require(actor, Can.EDIT_DRAFTS, company=company)
    build = draft_build(company=company, **fields)
    drafts_save([build])
    return build.invoice


def draft_build(
    *,
    company: Company,
    customer: Customer,
    lines: Sequence[LineData],
    doc_type: str = DocType.INVOICE,
    period_start: date | None = None,
    period_end: date | None = None,
    customer_po: str = "",
    notes: str = "",
    payment_terms_days: int | None = None,
    corrects: Invoice | None = None,
    subscription: Subscription | None = None,
) -> DraftBuild:
    """Validate and build a draft in memory; InvalidInput names the field at fault."""
    if customer.company_id != company.pk:
        raise InvalidInput("customer of another company", field="customer")
    if doc_type not in DocType.values:
        raise InvalidInput(f"unknown document type '{doc_type}'", field="doc_type")
    _check_periods(company, lines, period_start, period_end)
    if payment_terms_days is not None and not 0 <= payment_terms_days <= 60:
        raise InvalidInput("payment terms must be 0 to 60 days (L441-10)", field="payment_terms")
    check_text(customer_po, "customer_po", max_length=CUSTOMER_PO_MAX)
    notes = check_text(notes, "notes", max_length=None, multiline=True)  # printed on the PDF
    built = build_lines(company, lines)
    if doc_type == DocType.INVOICE:  # a credit note mirrors the invoice it corrects
        check_reverse_charge(customer, [line.vat_category for line in built])
    invoice = Invoice(
        company=company,
        customer=customer,
        doc_type=doc_type,
        currency=company.currency,
        period_start=period_start,
        period_end=period_end,
        customer_po=customer_po,
        notes=notes,
        payment_terms_days=payment_terms_days,
        corrects=corrects,
        subscription=subscription,
    )
    _set_totals(invoice, built)
    return DraftBuild(invoice, built)


DRAFT_FIELDS = ("customer", "period_start", "period_end", "customer_po", "notes",
                "payment_terms_days")  # fmt: skip


@transaction.atomic
def invoice_update_draft(
    invoice: Invoice, *, lines: Sequence[LineData], actor: Actor, **fields: Any
) -> Invoice:
    """Replace a draft's lines and, optionally, its `DRAFT_FIELDS`; refused once issued.

    Checked as a new draft is: InvalidInput names the field at fault and nothing changes. A
    recurring draft (lines to confirm, review before issue) keeps its subscription, so its
    customer cannot change.
    """
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}", field=min(unknown))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    _require_draft_right(actor, invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise NotAllowed(
            _("%(n)s is issued and cannot be edited; issue a credit note.") % {"n": invoice.number}
        )
    values = {name: fields.get(name, getattr(invoice, name)) for name in DRAFT_FIELDS}
    if invoice.subscription_id is not None and values["customer"].pk != invoice.customer_id:
        raise InvalidInput(
            _("A recurring invoice is billed to its subscription's customer."), field="customer"
        )
    build = draft_build(
        company=invoice.company, lines=lines, doc_type=invoice.doc_type,
        corrects=invoice.corrects, subscription=invoice.subscription, **values,
    )  # fmt: skip
    for name in DRAFT_FIELDS:
        setattr(invoice, name, values[name])
    invoice.lines.all().delete()
    for line in build.lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(build.lines)
    _set_totals(invoice, build.lines)
    invoice.save()
    return invoice


@transaction.atomic
def invoice_delete_draft(invoice: Invoice, *, actor: Actor) -> None:
    """Delete a draft: it never had a number, so no gap appears (NUM-02)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    _require_draft_right(actor, invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise NotAllowed(f"{invoice.number} is issued and cannot be deleted; issue a credit note.")
    invoice.delete()


def _require_draft_right(actor: Actor, draft: Invoice) -> None:
    """Invoice drafts need EDIT_DRAFTS; a credit note's draft, the right to credit."""
    needed = Can.ISSUE_CREDIT_NOTES if draft.doc_type == DocType.CREDIT_NOTE else Can.EDIT_DRAFTS
    actor_require(actor, needed, company=draft.company)
