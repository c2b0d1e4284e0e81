"""Payments: the list (filters, totals in SQL) and recording a payment, settling one invoice
or the customer's open invoices oldest first (what is left stays on the customer's account)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    DocType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    Settlement,
)
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.payments import payment_allocate, payment_record
from facturier.web.access import (
    Can,
    WebRequest,
    ensure,
    get_visible,
    requires,
    restrict_to_visible,
    visible_customers,
)
from facturier.web.forms.common import add_service_error, object_id
from facturier.web.forms.payments import AllocateForm, PaymentFilterForm, PaymentForm
from facturier.web.paging import paginate


@requires(Can.VIEW)
def payment_list(request: WebRequest) -> HttpResponse:
    filters = PaymentFilterForm(request.GET)
    qs = filters.filter(restrict_to_visible(Payment.objects.all(), request))
    totals = qs.order_by().aggregate(count=Count("pk"), amount=exact_sum("amount"))
    context = paginate(request, qs.select_related("customer").order_by("-received_on", "-pk"))
    page = list(context["page_obj"])
    # What each payment of the page settled, in one query.
    settled: dict[int, list[PaymentAllocation]] = {}
    allocations = PaymentAllocation.objects.filter(payment__in=page).select_related("invoice")
    for a in allocations.order_by("pk"):
        settled.setdefault(a.payment_id, []).append(a)
    rows = []
    for payment in page:
        parts = settled.get(payment.pk, [])
        used = sum((a.amount for a in parts), Decimal(0))
        rows.append((payment, parts, payment.amount - used))
    context.update(
        rows=rows,
        filters=filters,
        totals={"count": totals["count"], "amount": totals["amount"] or Decimal(0)},
        currency=request.company.currency,
    )
    return render(request, "web/payments/list.html", context)


def _named_invoice(request: WebRequest, value: str | None) -> Invoice | None:
    """The invoice `?invoice=ID` names; one the user cannot see does not exist (404)."""
    pk = object_id(value)
    if pk is None:
        return None
    qs = restrict_to_visible(Invoice.objects.select_related("customer"), request)
    return get_visible(qs, pk=pk)


def _not_payable(invoice: Invoice) -> str:
    """Why no payment can be recorded against `invoice` ("" when it awaits payment)."""
    label = invoice.number or _("This draft")
    if invoice.status != InvoiceStatus.ISSUED or invoice.doc_type != DocType.INVOICE:
        why = _("%(n)s is not an issued invoice: a payment cannot be recorded against it.")
    elif invoice.settlement == Settlement.PAID:
        why = _("%(n)s is already paid in full.")
    elif invoice.settlement not in (Settlement.OPEN, Settlement.PARTIAL):
        why = _("%(n)s no longer awaits payment.")
    else:
        return ""
    more = _("A payment recorded here settles the customer's other unpaid invoices, oldest "
             "due date first; what is left stays on the customer's account.")  # fmt: skip
    return f"{why % {'n': label}} {more}"


@requires(Can.RECORD_PAYMENTS)
def payment_new(request: WebRequest) -> HttpResponse:
    """Record a payment; with ?invoice=ID it settles that invoice first (an invoice already
    paid is said so above the form, which then settles the customer's other invoices)."""
    posted = request.method == "POST"
    invoice = _named_invoice(
        request, request.POST.get("invoice") if posted else request.GET.get("invoice")
    )
    notice = _not_payable(invoice) if invoice is not None else ""
    named, invoice = invoice, (None if notice else invoice)
    customers = visible_customers(request).order_by("legal_name")
    if invoice is not None:
        customers = customers.filter(pk=invoice.customer_id)
    initial: dict[str, Any] = {"received_on": clock.company_today(request.company)}
    if invoice is not None:
        initial.update(customer=invoice.customer_id, amount=invoice.balance)
    elif named is not None:
        initial["customer"] = named.customer_id
    elif request.GET.get("customer"):
        initial["customer"] = request.GET.get("customer")
    form = PaymentForm(request.POST or None, customers=customers, initial=initial)
    if posted and notice:
        # The invoice was settled since the form was shown: nothing is recorded, the form
        # comes back without it (sent again, it settles the customer's other invoices).
        form.is_valid()
        form.add_error(None, notice)
        notice = ""
    elif posted and form.is_valid():
        data = form.cleaned_data
        allocations = None
        if invoice is not None:
            allocations = [(invoice, min(data["amount"], invoice.balance))]
        try:
            payment = payment_record(
                customer=data["customer"], amount=data["amount"],
                received_on=data["received_on"], method=data["method"],
                reference=data.get("reference") or "", allocations=allocations,
                actor=request.actor,
            )  # fmt: skip
        except ServiceError as exc:
            if exc.field and exc.field.startswith("allocations"):
                exc.field = "amount"
            add_service_error(form, exc)
        else:
            messages.success(request, _("Payment recorded."))
            if invoice is not None:
                return redirect("web:invoice", pk=invoice.pk)
            return redirect(f"{reverse('web:payments')}?customer={payment.customer_id}")
    context = {"form": form, "invoice": invoice, "notice": notice}
    return render(request, "web/payments/form.html", context)


@requires(Can.VIEW)
def payment_detail(request: WebRequest, pk: int) -> HttpResponse:
    """A payment, what it settled, and (for those who record payments) its unallocated rest
    put on an open invoice of the customer."""
    qs = restrict_to_visible(Payment.objects.select_related("customer"), request)
    payment = get_visible(qs, pk=pk)
    allocations = list(payment.allocations.select_related("invoice").order_by("pk"))
    rest = payment.amount - sum((a.amount for a in allocations), Decimal(0))
    open_invoices = Invoice.objects.filter(
        customer=payment.customer,
        status=InvoiceStatus.ISSUED,
        doc_type=DocType.INVOICE,
        settlement__in=[Settlement.OPEN, Settlement.PARTIAL],
    ).order_by("due_date", "pk")
    form = AllocateForm(request.POST or None, invoices=open_invoices, initial={"amount": rest})
    if request.method == "POST":
        ensure(request, Can.RECORD_PAYMENTS)
        if form.is_valid():
            try:
                payment_allocate(
                    payment, form.cleaned_data["invoice"], form.cleaned_data["amount"],
                    actor=request.actor,
                )  # fmt: skip
            except ServiceError as exc:
                exc.field = "amount" if exc.field != "invoice" else exc.field
                add_service_error(form, exc)
            else:
                messages.success(request, _("Payment allocated."))
                return redirect("web:payment", pk=payment.pk)
    context = {
        "payment": payment,
        "allocations": allocations,
        "rest": rest,
        "form": form,
        "can_allocate": rest > 0 and open_invoices.exists(),
    }
    return render(request, "web/payments/detail.html", context)


urlpatterns = [
    path("", payment_list, name="payments"),
    path("new/", payment_new, name="payment_new"),
    path("<int:pk>/", payment_detail, name="payment"),
]
