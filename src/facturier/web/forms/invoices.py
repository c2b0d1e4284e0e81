"""Forms of the invoice pages: the list's filters, a one-off invoice, a credit note."""

from __future__ import annotations

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
    InvoiceStatus,
    Product,
    Settlement,
)
from facturier.billing.models.catalog import VAT_CHOICES, LineKindChoices
from facturier.billing.services.drafts import LineData
from facturier.web.forms.common import DateInput, NumberField, decimal_field
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
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
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
    discount_amount = NumberField(
        required=False, max_digits=14, decimal_places=2, min_value=0, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["mode"]

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
    KINDS = [
        ("full", _("The whole invoice")),
        ("partial", _("An amount")),
    ]
    scope = forms.ChoiceField(label=_("Credit"), choices=KINDS, initial="full")
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    amount = decimal_field(
        _("Amount excl. VAT"), required=False, max_digits=14, decimal_places=2, min_value=0
    )
    vat_code = forms.ChoiceField(label=_("VAT"), choices=VAT_CHOICES, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=LineKindChoices.choices, initial=LineKindChoices.SERVICES
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    def __init__(self, *args: Any, vat_codes: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if vat_codes:
            field = self.fields["vat_code"]
            field.choices = [c for c in VAT_CHOICES if c[0] in vat_codes]  # type: ignore[attr-defined]
            field.initial = vat_codes[0]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("scope") == "partial":
            if not data.get("amount"):
                self.add_error("amount", _("Give the amount to credit, excl. VAT."))
            if not (data.get("description") or "").strip():
                self.add_error("description", _("Say what is credited."))
        return data

    def lines(self) -> list[LineData] | None:
        """None: credit every line of the invoice."""
        data = self.cleaned_data
        if data["scope"] == "full":
            return None
        return [
            LineData(
                description=data["description"].strip(),
                quantity=Decimal(1),
                unit_price=data["amount"],
                vat_code=data.get("vat_code") or None,
                kind=data["kind"],
            )
        ]


def products_of(company_id: int) -> QuerySet[Product]:
    return Product.objects.filter(company_id=company_id, active=True).order_by("sku")
