"""Payments: the list (filters, totals in SQL, refunds), recording a payment (settling one
invoice or the customer's open invoices oldest first; what is left stays on the customer's
account), and a payment's page: its history, and its unallocated rest allocated, part of it
moved to another invoice, or the whole payment reversed. Every write goes through a service
(billing/services/payments.py, payment_corrections.py); a refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from facturier.billing import clock
from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    DocType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentReversal,
    Refund,
    RefundDraw,
    Settlement,
)
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.payment_corrections import (
    payment_reallocate,
    payment_reverse,
    payment_settled,
)
from facturier.billing.services.payments import (
    payment_allocate,
    payment_record,
    payment_unallocated,
)
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
from facturier.web.forms.payments import (
    AllocateForm,
    PaymentFilterForm,
    PaymentForm,
    ReallocateForm,
    ReverseForm,
)
from facturier.web.once import once, once_created
from facturier.web.paging import paginate
from facturier.web.templatetags.facturier_web import amount
from facturier.web.views.refunds import refund_new

REFUNDS_SHOWN = 50  # the newest refunds the list shows (they are few: money paid back)


@requires(Can.VIEW)
def payment_list(request: WebRequest) -> HttpResponse:
    """Payments with what each settles now (reversed ones marked), the totals received and
    reversed, then the refunds paid out under the same filters."""
    filters = PaymentFilterForm(request.GET)
    qs = filters.filter(restrict_to_visible(Payment.objects.all(), request))
    totals = qs.order_by().aggregate(count=Count("pk"), amount=exact_sum("amount"))
    reversed_total = PaymentReversal.objects.filter(payment__in=qs.order_by().values("pk"))
    context = paginate(request, qs.select_related("customer").order_by("-received_on", "-pk"))
    page = list(context["page_obj"])
    # What each payment of the page settles now and has left on account, in three queries.
    nets = (
        PaymentAllocation.objects.filter(payment__in=page)
        .values("payment_id", "invoice_id", "invoice__number")
        .annotate(s=exact_sum("amount"))
        .order_by("payment_id", "invoice__number")
    )
    settled: dict[int, list[tuple[int, str, Decimal]]] = {}
    used: dict[int, Decimal] = {}
    for n in nets:
        used[n["payment_id"]] = used.get(n["payment_id"], Decimal(0)) + n["s"]
        if n["s"] > 0:
            settled.setdefault(n["payment_id"], []).append(
                (n["invoice_id"], n["invoice__number"], n["s"])
            )
    drawn = RefundDraw.objects.filter(payment__in=page).values("payment_id")
    for d in drawn.annotate(s=exact_sum("amount")).order_by("payment_id"):
        used[d["payment_id"]] = used.get(d["payment_id"], Decimal(0)) + d["s"]
    reversals = {r.payment_id: r for r in PaymentReversal.objects.filter(payment__in=page)}
    rows = [
        (
            payment,
            settled.get(payment.pk, []),
            Decimal(0) if payment.pk in reversals else payment.amount - used.get(payment.pk, 0),
            reversals.get(payment.pk),
        )
        for payment in page
    ]
    refunds = filters.filter_refunds(restrict_to_visible(Refund.objects.all(), request))
    context.update(
        rows=rows,
        filters=filters,
        totals={
            "count": totals["count"],
            "amount": totals["amount"] or Decimal(0),
            "reversed": reversed_total.aggregate(s=exact_sum("amount"))["s"] or Decimal(0),
            "refunded": refunds.aggregate(s=exact_sum("amount"))["s"] or Decimal(0),
        },
        refunds=refunds.select_related("customer").order_by("-refunded_on", "-pk")[:REFUNDS_SHOWN],
        refunds_shown=REFUNDS_SHOWN,
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
@once("payment")
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
            label = _("The payment of %(a)s.") % {"a": amount(payment.amount, payment.currency)}
            once_created(request, reverse("web:payment", args=[payment.pk]), label)
            if invoice is not None:
                return redirect("web:invoice", pk=invoice.pk)
            return redirect(f"{reverse('web:payments')}?customer={payment.customer_id}")
    context = {"form": form, "invoice": invoice, "notice": notice}
    return render(request, "web/payments/form.html", context)


def _detail_context(request: WebRequest, payment: Payment, **forms: Any) -> dict[str, Any]:
    """The payment, what it settles now and its history (entries, refunds, reversal), with
    the forms of its actions (those given keep their input and errors)."""
    entries = list(payment.allocations.select_related("invoice").order_by("pk"))
    settled = payment_settled(payment)
    reversal = PaymentReversal.objects.filter(payment=payment).first()
    rest = payment_unallocated(payment)
    open_invoices = _open_invoices(payment)
    sources = Invoice.objects.filter(pk__in=settled).order_by("pk")
    today = clock.company_today(request.company)
    return {
        "payment": payment,
        "entries": entries,
        "settled": [(inv, settled[inv.pk]) for inv in sources],
        "draws": RefundDraw.objects.filter(payment=payment).select_related("refund"),
        "reversal": reversal,
        "rest": rest,
        "form": forms.get("form") or AllocateForm(invoices=open_invoices, initial={"amount": rest}),
        "move_form": forms.get("move_form")
        or ReallocateForm(settled=settled, sources=sources, targets=open_invoices),
        "reverse_form": forms.get("reverse_form") or ReverseForm(initial={"reversed_on": today}),
        "can_allocate": reversal is None and rest > 0 and open_invoices.exists(),
        "can_move": reversal is None and bool(settled),
        "can_reverse": reversal is None,
        "open_on": forms.get("open_on", ""),
    }


def _open_invoices(payment: Payment) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        customer=payment.customer,
        status=InvoiceStatus.ISSUED,
        doc_type=DocType.INVOICE,
        settlement__in=[Settlement.OPEN, Settlement.PARTIAL],
    ).order_by("due_date", "pk")


def _payment(request: WebRequest, pk: int) -> Payment:
    qs = restrict_to_visible(Payment.objects.select_related("customer", "company"), request)
    return get_visible(qs, pk=pk)


def _detail(request: WebRequest, payment: Payment, **forms: Any) -> HttpResponse:
    context = _detail_context(request, payment, **forms)
    return render(request, "web/payments/detail.html", context)


@requires(Can.VIEW)
@once("allocation")
def payment_detail(request: WebRequest, pk: int) -> HttpResponse:
    """A payment and its history; those who record payments put its unallocated rest on an
    open invoice of the customer (a POST here), move it, or reverse it."""
    payment = _payment(request, pk)
    if request.method != "POST":
        return _detail(request, payment)
    ensure(request, Can.RECORD_PAYMENTS)
    form = AllocateForm(request.POST, invoices=_open_invoices(payment))
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
    return _detail(request, payment, form=form)


@requires(Can.RECORD_PAYMENTS)
@require_POST
@once("reallocation")
def payment_reallocate_view(request: WebRequest, pk: int) -> HttpResponse:
    """Release part of what the payment settles on one invoice, and settle another with it
    (or keep it on the customer's account): one transaction."""
    payment = _payment(request, pk)
    settled = payment_settled(payment)
    form = ReallocateForm(
        request.POST, settled=settled, sources=Invoice.objects.filter(pk__in=settled),
        targets=_open_invoices(payment),
    )  # fmt: skip
    if form.is_valid():
        data = form.cleaned_data
        target = data.get("target")
        try:
            payment_reallocate(
                payment, release=[(data["source"], data["amount"])],
                allocate=[(target, data["amount"])] if target else [], actor=request.actor,
            )  # fmt: skip
        except ServiceError as exc:
            exc.field = {"release[1]": "amount", "allocations[1]": "target"}.get(
                exc.field or "", "amount" if exc.field else None
            )
            add_service_error(form, exc)
        else:
            messages.success(request, _("Payment re-allocated."))
            return redirect("web:payment", pk=payment.pk)
    return _detail(request, payment, move_form=form, open_on="move")


@requires(Can.RECORD_PAYMENTS)
@require_POST
def payment_reverse_view(request: WebRequest, pk: int) -> HttpResponse:
    """Reverse the payment (once: a second reversal is refused with a message)."""
    payment = _payment(request, pk)
    form = ReverseForm(request.POST)
    if form.is_valid():
        try:
            payment_reverse(
                payment, reversed_on=form.cleaned_data["reversed_on"],
                reason=form.cleaned_data["reason"], actor=request.actor,
            )  # fmt: skip
        except ServiceError as exc:
            if exc.field is None:  # refused by the payment's state: already reversed...
                messages.error(request, exc.message)
                return redirect("web:payment", pk=payment.pk)
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Payment reversed: the invoices it settled are to be paid again."),
            )
            return redirect("web:payment", pk=payment.pk)
    return _detail(request, payment, reverse_form=form, open_on="reverse")


urlpatterns = [
    path("", payment_list, name="payments"),
    path("new/", payment_new, name="payment_new"),
    path("refund/", refund_new, name="refund_new"),
    path("<int:pk>/", payment_detail, name="payment"),
    path("<int:pk>/reallocate/", payment_reallocate_view, name="payment_reallocate"),
    path("<int:pk>/reverse/", payment_reverse_view, name="payment_reverse"),
]
