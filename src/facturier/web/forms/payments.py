"""Forms of the payment pages: record a payment, filter the list, allocate, move or reverse
a payment, refund or use a customer's credit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from facturier.billing.models import Customer, Invoice, Payment, PaymentMethod, Refund
from facturier.billing.services.payment_corrections import REFUND_METHODS
from facturier.web.forms.common import DateInput, decimal_field, id_filter


class PaymentForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    amount = decimal_field(_("Amount received"), max_digits=14, decimal_places=2, min_places=2)
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False)

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]


class PaymentFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    method = forms.ChoiceField(
        label=_("Method"), required=False, choices=[("", _("All")), *PaymentMethod.choices]
    )
    start = forms.DateField(label=_("Received from"), required=False, widget=DateInput())
    end = forms.DateField(label=_("Received until"), required=False, widget=DateInput())
    customer = id_filter()

    def filter(self, qs: QuerySet[Payment]) -> QuerySet[Payment]:
        # A wrong value (shown next to its field) is left out; the other filters apply.
        self.is_valid()
        data = self.cleaned_data
        if data.get("method"):
            qs = qs.filter(method=data["method"])
        if data.get("start"):
            qs = qs.filter(received_on__gte=data["start"])
        if data.get("end"):
            qs = qs.filter(received_on__lte=data["end"])
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        q = (data.get("q") or "").strip()
        if q:
            qs = qs.filter(
                Q(reference__icontains=q)
                | Q(customer__legal_name__icontains=q)
                | Q(customer__code__iexact=q)
            )
        return qs

    def filter_refunds(self, qs: QuerySet[Refund]) -> QuerySet[Refund]:
        """The same filters on the refunds (their date is the day they were paid back)."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("method"):
            qs = qs.filter(method=data["method"])
        if data.get("start"):
            qs = qs.filter(refunded_on__gte=data["start"])
        if data.get("end"):
            qs = qs.filter(refunded_on__lte=data["end"])
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        q = (data.get("q") or "").strip()
        if q:
            qs = qs.filter(
                Q(reference__icontains=q)
                | Q(customer__legal_name__icontains=q)
                | Q(customer__code__iexact=q)
            )
        return qs


class AllocateForm(forms.Form):
    """Use what is left of a payment (the customer's credit) to settle an open invoice."""

    invoice = forms.ModelChoiceField(queryset=Invoice.objects.none(), label=_("Invoice"))
    amount = decimal_field(_("Amount"), max_digits=14, decimal_places=2, min_places=2)

    def __init__(self, *args: Any, invoices: QuerySet[Invoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        field.queryset = invoices  # type: ignore[attr-defined]
        field.label_from_instance = _invoice_label  # type: ignore[attr-defined]


def _invoice_label(invoice: Invoice) -> str:
    return f"{invoice.number} – {invoice.balance} {invoice.currency}"


class ReallocateForm(forms.Form):
    """Move part of what a payment settles on one invoice to another (or to the account)."""

    source = forms.ModelChoiceField(queryset=Invoice.objects.none(), label=_("From the invoice"))
    amount = decimal_field(_("Amount"), max_digits=14, decimal_places=2, min_places=2)
    target = forms.ModelChoiceField(
        queryset=Invoice.objects.none(),
        label=_("To the invoice"),
        required=False,
        empty_label=_("None: keep it on the customer's account"),
    )

    def __init__(
        self,
        *args: Any,
        settled: dict[int, Decimal],
        sources: QuerySet[Invoice],
        targets: QuerySet[Invoice],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", "move")
        super().__init__(*args, **kwargs)
        source, target = self.fields["source"], self.fields["target"]
        source.queryset = sources  # type: ignore[attr-defined]
        source.label_from_instance = lambda inv: _settled_label(inv, settled)  # type: ignore[attr-defined]
        target.queryset = targets  # type: ignore[attr-defined]
        target.label_from_instance = _invoice_label  # type: ignore[attr-defined]


def _settled_label(invoice: Invoice, settled: dict[int, Decimal]) -> str:
    amount = settled.get(invoice.pk, Decimal(0))
    return str(
        _("%(n)s – settles %(a)s") % {"n": invoice.number, "a": f"{amount} {invoice.currency}"}
    )


class ReverseForm(forms.Form):
    """Reverse a payment (a cheque returned unpaid, a payment recorded by mistake)."""

    reversed_on = forms.DateField(label=_("Reversed on"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_(
            "Kept with the payment and told to the sales rep, e.g. “Cheque returned unpaid”."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "reverse")
        super().__init__(*args, **kwargs)


class RefundForm(forms.Form):
    """Pay back part of a customer's credit."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    amount = decimal_field(_("Amount refunded"), max_digits=14, decimal_places=2, min_places=2)
    refunded_on = forms.DateField(label=_("Refunded on"), widget=DateInput())
    method = forms.ChoiceField(
        label=_("Method"),
        choices=[(v, label) for v, label in PaymentMethod.choices if v in REFUND_METHODS],
    )
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False)

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]


class UseCreditForm(forms.Form):
    """Settle an open invoice with the customer's credit."""

    invoice = forms.ModelChoiceField(queryset=Invoice.objects.none(), label=_("Invoice"))
    amount = decimal_field(_("Amount"), max_digits=14, decimal_places=2, min_places=2)

    def __init__(self, *args: Any, invoices: QuerySet[Invoice], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "credit")
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        field.queryset = invoices  # type: ignore[attr-defined]
        field.label_from_instance = _invoice_label  # type: ignore[attr-defined]
