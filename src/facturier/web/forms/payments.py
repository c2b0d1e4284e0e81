"""Forms of the payment pages: record a payment, filter the list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from facturier.billing.models import Customer, Invoice, Payment, PaymentMethod
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
