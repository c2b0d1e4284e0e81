"""Refund a customer's credit (money paid back); reached from the customer's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.selectors import customer_credit
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.payment_corrections import credit_refund
from facturier.web.access import Can, WebRequest, requires, visible_customers
from facturier.web.forms.common import add_service_error
from facturier.web.forms.payments import RefundForm
from facturier.web.once import once, once_created
from facturier.web.templatetags.facturier_web import amount


@requires(Can.RECORD_PAYMENTS)
@once("refund")
def refund_new(request: WebRequest) -> HttpResponse:
    """Record a refund: at most the customer's credit, taken from its payments' rests."""
    customers = visible_customers(request).order_by("legal_name")
    initial: dict[str, Any] = {"refunded_on": clock.company_today(request.company)}
    chosen = request.POST.get("customer") or request.GET.get("customer") or ""
    customer = customers.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    credit = customer_credit(customer) if customer is not None else None
    if customer is not None:
        initial.update(customer=customer.pk, amount=credit)
    form = RefundForm(request.POST or None, customers=customers, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            refund = credit_refund(
                customer=data["customer"], amount=data["amount"],
                refunded_on=data["refunded_on"], method=data["method"],
                reference=data.get("reference") or "", actor=request.actor,
            )  # fmt: skip
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            what = _("Refund of %(a)s to %(c)s recorded.") % {
                "a": amount(refund.amount, refund.currency), "c": refund.customer.legal_name,
            }  # fmt: skip
            messages.success(request, what)
            url = reverse("web:customer", args=[refund.customer_id])
            once_created(request, url, what)
            return redirect(url)
    context = {"form": form, "customer": customer, "credit": credit}
    return render(request, "web/payments/refund.html", context)
