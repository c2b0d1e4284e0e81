"""Exports: invoices and payments as CSV, and the sales journal of a period in the FEC's
18 columns, streamed (`facturier.billing.exports`) so that 100,000 rows need no memory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import F
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from facturier.billing import clock, exports
from facturier.billing.models import Invoice, Payment, PaymentReversal, Refund
from facturier.web.access import Can, WebRequest, requires, restrict_to_visible
from facturier.web.forms.exports import JournalForm, PeriodForm, StyleForm
from facturier.web.forms.invoices import InvoiceFilterForm

# The page holds three forms with the same field names (start, end, style): each gets its own
# element ids, so that a label always focuses its own form's field.
INVOICE_IDS, PAYMENT_IDS, JOURNAL_IDS = "invoices_%s", "payments_%s", "journal_%s"


def download(lines: Iterable[str], name: str, content_type: str) -> HttpResponseBase:
    """`lines` streamed as the attachment `name` (a CSV's from `exports.csv_file`)."""
    response = StreamingHttpResponse(lines, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _page(request: WebRequest, **forms: Any) -> HttpResponse:
    today = clock.company_today(request.company)
    first = date(today.year, today.month, 1)
    context = {
        "invoice_form": forms.get("invoice_form")
        or PeriodForm(initial={"start": first}, auto_id=INVOICE_IDS),
        "payment_form": forms.get("payment_form")
        or PeriodForm(initial={"start": first}, auto_id=PAYMENT_IDS),
        "journal_form": forms.get("journal_form")
        or JournalForm(initial={"start": first, "end": today}, auto_id=JOURNAL_IDS),
    }
    return render(request, "web/exports/page.html", context)


@requires(Can.EXPORT)
def export_page(request: WebRequest) -> HttpResponse:
    return _page(request)


@requires(Can.EXPORT)
def export_invoices(request: WebRequest) -> HttpResponseBase:
    """Invoices and credit notes, with the invoice list's filters (start/end: issue dates).

    Every parameter is checked before the file starts: the list leaves a wrong filter out,
    but a file is not made of another selection than the one asked for."""
    filters = InvoiceFilterForm(request.GET)
    period = PeriodForm(request.GET, auto_id=INVOICE_IDS)
    if period.is_valid() and not filters.is_valid():
        names = ", ".join(sorted(filters.errors))
        period.add_error(
            None,
            _("Nothing was exported: these filters are not valid: %(names)s.") % {"names": names},
        )
    if not period.is_valid():
        return _page(request, invoice_form=period)
    today = clock.company_today(request.company)
    qs = filters.filter(restrict_to_visible(Invoice.objects.all(), request), today=today)
    style = StyleForm(request.GET).chosen_style()
    # Issued documents in the order they were issued, then the drafts.
    ordered = qs.order_by(F("chain_index").asc(nulls_last=True), "pk")
    rows = exports.invoice_rows(ordered, style=style)
    name = f"factures-{today:%Y%m%d}.csv"
    return download(exports.csv_file(rows, style=style), name, "text/csv")


@requires(Can.EXPORT)
def export_payments(request: WebRequest) -> HttpResponseBase:
    form = PeriodForm(request.GET, auto_id=PAYMENT_IDS)
    if not form.is_valid():
        return _page(request, payment_form=form)
    start, end = form.cleaned_data.get("start"), form.cleaned_data.get("end")
    qs = restrict_to_visible(Payment.objects.all(), request)
    qs = exports.payments_for(request.company, start=start, end=end).filter(pk__in=qs)
    style = form.chosen_style()
    # With the period's reversals and refunds, so that the file balances (billing/exports.py).
    reversals = exports.reversals_for(request.company, start=start, end=end).filter(
        pk__in=restrict_to_visible(PaymentReversal.objects.all(), request,
                                   customer_field="payment__customer")
    )  # fmt: skip
    refunds = exports.refunds_for(request.company, start=start, end=end).filter(
        pk__in=restrict_to_visible(Refund.objects.all(), request)
    )
    rows = exports.payment_rows(qs, style=style, reversals=reversals, refunds=refunds)
    name = f"paiements-{clock.company_today(request.company):%Y%m%d}.csv"
    return download(exports.csv_file(rows, style=style), name, "text/csv")


@requires(Can.EXPORT)
def export_journal(request: WebRequest) -> HttpResponseBase:
    """The sales journal of a period: FEC columns, one balanced entry per document."""
    form = JournalForm(request.GET, auto_id=JOURNAL_IDS)
    if not form.is_valid():
        return _page(request, journal_form=form)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    entries = exports.journal_entries(request.company, start=start, end=end)
    lines = exports.journal_lines(exports.journal_rows(entries), separator=form.separator_char())
    name = exports.journal_filename(request.company, start=start, end=end)
    return download(lines, name, "text/plain")


urlpatterns = [
    path("", export_page, name="exports"),
    path("invoices.csv", export_invoices, name="export_invoices"),
    path("payments.csv", export_payments, name="export_payments"),
    path("journal/", export_journal, name="export_journal"),
]
