"""Forms of the invoice pages: the list's filters, a one-off invoice, a credit note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from facturier.billing.models import (
    Customer,
    DocType,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Product,
    Settlement,
)
from facturier.billing.models.catalog import VAT_CHOICES, LineKindChoices
from facturier.billing.services.drafts import LineData
from facturier.core.money import format_amount
from facturier.web.forms.common import (
    DateInput,
    MoneyField,
    decimal_field,
    id_filter,
    require,
)
from facturier.web.forms.subscriptions import BaseLineFormSet, LineForm


class InvoiceFilterForm(forms.Form):
    """The list's filters (GET): every one optional, a wrong value is ignored."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *InvoiceStatus.choices],
    )
    settlement = forms.ChoiceField(
        label=_("Payment"),
        required=False,
        choices=[("", _("All")), *Settlement.choices],
    )
    doc_type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("Invoices and credit notes")), *DocType.choices],
    )
    customer = id_filter()
    start = forms.DateField(label=_("Issued from"), required=False, widget=DateInput())
    end = forms.DateField(label=_("Issued until"), required=False, widget=DateInput())
    overdue = forms.BooleanField(label=_("Overdue"), required=False)
    disputed = forms.BooleanField(label=_("Disputed"), required=False)

    def filter(self, qs: QuerySet[Invoice], *, today: date) -> QuerySet[Invoice]:
        """`qs` narrowed by the valid filters."""
        # A wrong value (shown next to its field) is left out; the other filters apply.
        self.is_valid()
        data = self.cleaned_data
        for name in ("status", "settlement", "doc_type"):
            if data.get(name):
                qs = qs.filter(**{name: data[name]})
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        if data.get("start"):
            qs = qs.filter(issue_date__gte=data["start"])
        if data.get("end"):
            qs = qs.filter(issue_date__lte=data["end"])
        if data.get("overdue"):
            qs = qs.filter(
                status=InvoiceStatus.ISSUED,
                doc_type=DocType.INVOICE,
                settlement__in=[Settlement.OPEN, Settlement.PARTIAL],
                due_date__lt=today,
            )
        if data.get("disputed"):
            qs = qs.filter(disputed=True)
        q = (data.get("q") or "").strip()
        if q:
            # The customers first (a small table), then their invoices by customer id: no
            # join of every invoice to its customer (the number is in the list's index).
            customers = Customer.objects.filter(Q(legal_name__icontains=q) | Q(code__iexact=q))
            qs = qs.filter(Q(number__icontains=q) | Q(customer__in=customers.values("pk")))
        return qs


class InvoiceLineForm(LineForm):
    """A one-off invoice's line: no metered or to-confirm mode. A draft's line being edited
    keeps its service period and fixed discount in hidden fields."""

    period_start = forms.DateField(required=False, widget=forms.HiddenInput)
    period_end = forms.DateField(required=False, widget=forms.HiddenInput)
    discount_amount = MoneyField(
        required=False, max_digits=14, decimal_places=2, min_value=0, widget=forms.HiddenInput
    )
    # A recurring draft's line whose quantity is still the placeholder (to confirm).
    placeholder_quantity = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["mode"]

    @property
    def to_confirm(self) -> bool:
        """Whether the line still waits for its quantity (as stored; the page highlights it)."""
        return bool(self.initial.get("placeholder_quantity"))

    def invoice_line(self, *, explicit: bool = False) -> LineData:
        """The line to build. `explicit` (editing a draft): the values shown are the line's
        own, so they are kept even where they came from a product whose values changed since."""
        line = self.line_data()
        data = self.cleaned_data
        return LineData(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            vat_code=data["vat_code"] if explicit else line.vat_code,
            unit_code=data["unit_code"] if explicit else line.unit_code,
            discount_percent=line.discount_percent,
            discount_amount=data.get("discount_amount") or Decimal(0),
            kind=data["kind"] if explicit else line.kind,
            product=line.product,
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
            # Still the placeholder until someone changes the quantity shown.
            placeholder_quantity=bool(data.get("placeholder_quantity"))
            and "quantity" not in self.changed_data,
        )

    def line_data(self) -> Any:
        self.cleaned_data.setdefault("mode", "fixed")
        return super().line_data()


InvoiceLineFormSet = forms.formset_factory(
    InvoiceLineForm, formset=BaseLineFormSet, extra=3, max_num=100
)
# A draft's lines: each can be removed, "Add a line" adds a blank one.
DraftLineFormSet = forms.formset_factory(
    InvoiceLineForm, formset=BaseLineFormSet, extra=0, max_num=100,
    can_delete=True, can_delete_extra=False,
)  # fmt: skip


class InvoiceForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    period_start = forms.DateField(
        label=_("Service period from"), required=False, widget=DateInput()
    )
    period_end = forms.DateField(label=_("Service period to"), required=False, widget=DateInput())
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"),
        min_value=0,
        max_value=60,
        required=False,
        help_text=_("Blank: the customer's terms, else the company's."),
    )
    customer_po = forms.CharField(label=_("Purchase order"), max_length=50, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The period ends before it starts."))
        return data


class CreditNoteForm(forms.Form):
    """A credit note: the whole invoice — once part of it was credited, what remains — or an
    amount excl. VAT (at most what remains, said in the amount's help)."""

    KINDS = [
        ("full", _("The whole invoice")),
        ("partial", _("An amount")),
    ]
    scope = forms.ChoiceField(label=_("Credit"), choices=KINDS, initial="full")
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    amount = decimal_field(
        _("Amount excl. VAT"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        min_places=2,
    )
    vat_code = forms.ChoiceField(label=_("VAT"), choices=VAT_CHOICES, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=LineKindChoices.choices, initial=LineKindChoices.SERVICES
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    def __init__(
        self,
        *args: Any,
        vat_codes: list[str] | None = None,
        room: CreditRoom | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.room = room
        if vat_codes:
            field = self.fields["vat_code"]
            field.choices = [c for c in VAT_CHOICES if c[0] in vat_codes]  # type: ignore[attr-defined]
            field.initial = vat_codes[0]
        if room is not None:
            left = {"net": room.net_text, "gross": room.gross_text}
            if room.partly_credited:
                # "full" stays the value posted (a page shown before another credit note
                # still means "everything that can still be credited").
                self.fields["scope"].choices = [  # type: ignore[attr-defined]
                    ("full", _("What remains to credit (%(net)s excl. VAT)") % left),
                    ("partial", _("An amount")),
                ]
            self.fields["amount"].help_text = (
                _("At most %(net)s excl. VAT remains to credit (%(gross)s incl. VAT).") % left
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("scope") == "partial":
            if not data.get("amount"):
                require(self, "amount", _("Give the amount to credit, excl. VAT."))
            elif self.room is not None and data["amount"] > self.room.net:
                self.add_error(
                    "amount",
                    _("At most %(net)s excl. VAT remains to credit on this invoice.")
                    % {"net": self.room.net_text},
                )
            if not (data.get("description") or "").strip():
                require(self, "description", _("Say what is credited."))
        return data

    def lines(self) -> list[LineData] | None:
        """None: credit every line of the invoice (nothing of it was credited yet)."""
        data = self.cleaned_data
        if data["scope"] == "full":
            return self.room.rest if self.room is not None and self.room.partly_credited else None
        return [
            LineData(
                description=data["description"].strip(),
                quantity=Decimal(1),
                unit_price=data["amount"],
                vat_code=data.get("vat_code") or None,
                kind=data["kind"],
            )
        ]


@dataclass(frozen=True)
class CreditRoom:
    """What can still be credited on an invoice: excl. and incl. VAT, and as the lines of a
    credit note for the rest (one per VAT code and kind) once part of it was credited."""

    net: Decimal
    gross: Decimal
    net_text: str
    gross_text: str
    partly_credited: bool
    rest: list[LineData]

    @property
    def empty(self) -> bool:
        return self.gross <= 0


def credit_room(invoice: Invoice, *, locale: str = "fr") -> CreditRoom:
    """What `invoice`'s issued credit notes left to credit (the credit notes' service refuses
    more than the invoice's total incl. VAT)."""
    notes = list(invoice.credit_notes.filter(status=InvoiceStatus.ISSUED))
    net = invoice.total_net - sum((n.total_net for n in notes), Decimal(0))
    gross = invoice.total_gross - sum((n.total_gross for n in notes), Decimal(0))
    left: dict[tuple[str, str], Decimal] = {}
    for line in invoice.lines.order_by("position"):
        key = (line.vat_code, line.kind)
        left[key] = left.get(key, Decimal(0)) + line.net_amount
    for line in InvoiceLine.objects.filter(invoice__in=notes):
        key = (line.vat_code, line.kind)
        left[key] = left.get(key, Decimal(0)) - line.net_amount
    # What was credited beyond a (VAT code, kind) of the invoice — or a discount line of
    # another kind — is taken from the other kinds of that VAT code.
    for code in {code for code, _kind in left}:
        keys = [key for key in left if key[0] == code]
        owed = -sum((left[key] for key in keys if left[key] < 0), Decimal(0))
        for key in keys:
            taken = min(owed, max(left[key], Decimal(0)))
            left[key] -= taken
            owed -= taken
    label = _("Rest of invoice %(n)s") % {"n": invoice.number}
    rest = [
        LineData(description=label, quantity=Decimal(1), unit_price=amount, vat_code=code,
                 kind=kind)
        for (code, kind), amount in left.items()
        if amount > 0
    ]  # fmt: skip
    currency = invoice.currency
    return CreditRoom(
        net=max(net, Decimal(0)),
        gross=max(gross, Decimal(0)),
        net_text=format_amount(max(net, Decimal(0)), currency, locale=locale),
        gross_text=format_amount(max(gross, Decimal(0)), currency, locale=locale),
        partly_credited=bool(notes),
        rest=rest,
    )


def products_of(company_id: int) -> QuerySet[Product]:
    return Product.objects.filter(company_id=company_id, active=True).order_by("sku")
