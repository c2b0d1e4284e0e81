"""Invoices: the list (filters, totals in SQL, pagination), a one-off invoice, the detail
page (archived PDF and XML, delivery log, reminders, payments, credit notes) and its actions:
issue or confirm a draft, delete a draft, send again, send a reminder now, mark disputed,
issue a credit note. Every write goes through a service; a refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property, partial
from io import BytesIO
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from facturier.billing import clock
from facturier.billing.aggregates import MONEY, exact_sum
from facturier.billing.models import (
    ArchivedDocument,
    DeliveryAttempt,
    DocType,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    OutboxStatus,
    PaymentAllocation,
    Reminder,
    Settlement,
)
from facturier.billing.services.audit import ArchiveDamaged, archived_bytes
from facturier.billing.services.chronology import ClockBehind
from facturier.billing.services.credit_notes import credit_note_create
from facturier.billing.services.drafts import (
    DRAFT_FIELDS,
    invoice_create,
    invoice_delete_draft,
    invoice_update_draft,
)
from facturier.billing.services.dunning import (
    invoice_dispute_set,
    reminder_schedule,
    reminder_send_now,
)
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.issuing import invoice_issue
from facturier.billing.services.outbox import invoice_email_send
from facturier.web.access import (
    Can,
    WebRequest,
    ensure,
    get_visible,
    requires,
    sees_own_customers_only,
    visible_customers,
)
from facturier.web.forms.common import add_service_error, with_one_more_line
from facturier.web.forms.invoices import (
    CreditNoteForm,
    CreditRoom,
    DraftLineFormSet,
    InvoiceFilterForm,
    InvoiceForm,
    InvoiceLineFormSet,
    credit_room,
    products_of,
)
from facturier.web.forms.subscriptions import add_line_error
from facturier.web.once import once, once_created, once_nothing_created

PER_PAGE = 50
ZERO = Value(Decimal(0), output_field=MONEY)


def _signed(field: str) -> Case:
    """A credit note's amounts count negative in the totals."""
    return Case(
        When(doc_type=DocType.CREDIT_NOTE, then=-F(field)), default=F(field), output_field=MONEY
    )


def list_totals(qs: QuerySet[Invoice]) -> dict[str, Any]:
    """Count and totals of the filtered list in one SQL aggregate: net, VAT and gross
    (credit notes negative), and what is still owed on issued invoices. Every column read
    is in the index invoice_list_cover: the aggregate does not read the table's wide rows."""
    owed = Case(
        When(
            status=InvoiceStatus.ISSUED,
            doc_type=DocType.INVOICE,
            then=F("total_gross") - F("settled_amount"),
        ),
        default=ZERO,
        output_field=MONEY,
    )
    totals = qs.order_by().aggregate(
        count=Count("pk"),
        net=exact_sum(_signed("total_net")),
        vat=exact_sum(_signed("total_vat")),
        gross=exact_sum(_signed("total_gross")),
        balance=exact_sum(owed),
    )
    return {k: (v if v is not None else Decimal(0)) for k, v in totals.items()}


class CountedPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator told the row count (already read with the totals): one query less."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


# What a row of the list shows.
LIST_FIELDS = (
    "number", "doc_type", "status", "issue_date", "due_date", "currency", "total_gross",
    "settled_amount", "settlement", "disputed", "customer__legal_name",
)  # fmt: skip


def _visible(request: WebRequest) -> QuerySet[Invoice]:
    """The company's invoices the user may see. Filtered on the invoice's own company
    column (an invoice's customer is always of its company): the list's aggregate and sort
    then read the invoice indexes alone, with no join over 100,000 rows."""
    qs = Invoice.objects.filter(company=request.company)
    if sees_own_customers_only(request):
        qs = qs.filter(customer__sales_rep=request.user)
    return qs


@requires(Can.VIEW)
def invoice_list(request: WebRequest) -> HttpResponse:
    today = clock.company_today(request.company)
    filters = InvoiceFilterForm(request.GET)
    qs = filters.filter(_visible(request), today=today)
    totals = list_totals(qs)
    # Drafts on top ("draft" sorts before "issued"; only drafts have no issue date), then
    # newest first: the order of the index invoice_list_cover, so the page's ids are read
    # from it on both databases (a NULLS FIRST on the date could not use it on SQLite).
    # Only those rows are then read with the columns the list shows (not the JSON parties).
    ids = qs.order_by("status", "-issue_date", "-pk").values_list("pk", flat=True)
    page = CountedPaginator(ids, PER_PAGE, count=totals["count"]).get_page(request.GET.get("page"))
    page_ids = list(page.object_list)
    rows = Invoice.objects.filter(pk__in=page_ids).select_related("customer").only(*LIST_FIELDS)
    by_id = {row.pk: row for row in rows}
    page.object_list = [by_id[pk] for pk in page_ids]
    params = request.GET.copy()
    params.pop("page", None)
    encoded = params.urlencode()
    customer_id = filters.cleaned_data.get("customer") if filters.is_valid() else None
    customer = visible_customers(request).filter(pk=customer_id).first() if customer_id else None
    params.pop("customer", None)
    context = {
        "filters": filters,
        "customer": customer,
        "without_customer": params.urlencode(),
        "page_obj": page,
        "query_without_page": f"{encoded}&" if encoded else "",
        "query": encoded,
        "totals": totals,
        "today": today,
        "currency": request.company.currency,
    }
    return render(request, "web/invoices/list.html", context)


def _forms(request: WebRequest, data: Any = None, draft: Invoice | None = None) -> tuple[Any, Any]:
    """The invoice form and its lines: empty for a new invoice, else the draft's values."""
    if draft is None:
        initial: dict[str, Any] = {"customer": request.GET.get("customer")}
        lines_initial = None
    else:
        initial = {name: getattr(draft, name) for name in DRAFT_FIELDS}
        lines_initial = [
            {name: getattr(line, name) for name in _LINE_FIELDS} for line in draft.lines.all()
        ]
    form = InvoiceForm(
        data, customers=visible_customers(request).order_by("legal_name"), initial=initial
    )
    if draft is not None and draft.subscription_id is not None:
        form.fields["customer"].disabled = True  # billed to the subscription's customer
    products = products_of(request.company.pk)
    formset = InvoiceLineFormSet if draft is None else DraftLineFormSet
    lines = formset(data, prefix="lines", initial=lines_initial, form_kwargs={"products": products})
    return form, lines


_LINE_FIELDS = (
    "product", "description", "quantity", "unit_price", "vat_code", "unit_code",
    "discount_percent", "kind", "period_start", "period_end", "discount_amount",
    "placeholder_quantity",
)  # fmt: skip
# A service's field name → this form's.
_INVOICE_FIELDS = {"payment_terms": "payment_terms_days"}


@requires(Can.EDIT_DRAFTS)
@once("invoice")
def invoice_new(request: WebRequest) -> HttpResponse:
    """A one-off invoice: saved as a draft, or created and issued at once."""
    return _invoice_form(request, None)


@requires(Can.EDIT_DRAFTS)
def invoice_edit(request: WebRequest, pk: int) -> HttpResponse:
    """A draft's header and lines (the quantities of lines to confirm, say), saved as a draft
    or saved and issued at once."""
    draft = _get(request, pk)
    if draft.status != InvoiceStatus.DRAFT:
        messages.error(request, _("%(n)s is issued and cannot be edited; issue a credit note.")
                       % {"n": draft.number})  # fmt: skip
        return redirect("web:invoice", pk=draft.pk)
    return _invoice_form(request, draft)


def _invoice_form(request: WebRequest, draft: Invoice | None) -> HttpResponse:
    def page(form: Any, lines: Any) -> HttpResponse:
        to_confirm = draft is not None and draft.lines.filter(placeholder_quantity=True).exists()
        context = {"form": form, "lines": lines, "draft": draft, "to_confirm": to_confirm}
        return render(request, "web/invoices/form.html", context)

    if request.method != "POST":
        return page(*_forms(request, None, draft))
    if "add_line" in request.POST:
        build = partial(_forms, request, draft=draft)
        return page(*with_one_more_line(request.POST, build, limit=100))
    issue = "issue" in request.POST
    if issue:
        ensure(request, Can.ISSUE_INVOICES)
    form, formset = _forms(request, request.POST, draft)
    if form.is_valid() and formset.is_valid():
        lines = formset.filled()
        header = {name: form.cleaned_data.get(name) for name in DRAFT_FIELDS}
        header["customer_po"] = header["customer_po"] or ""
        header["notes"] = header["notes"] or ""
        # Editing: the values shown are the line's own (unless its product was changed).
        line_data = [
            line.invoice_line(explicit=draft is not None and "product" not in line.changed_data)
            for line in lines
        ]
        try:
            # One transaction: an invoice that cannot be issued is left as it was.
            with transaction.atomic():
                if draft is None:
                    invoice = invoice_create(
                        company=request.company, lines=line_data, actor=request.actor, **header
                    )
                else:
                    invoice = invoice_update_draft(
                        draft, lines=line_data, actor=request.actor, **header
                    )
                if issue:  # a recurring draft's period becomes "invoiced" too
                    as_is = "as_is" in request.POST  # quantities to confirm, as they are
                    invoice = invoice_issue(invoice, actor=request.actor, as_is=as_is)
        except ServiceError as exc:
            if isinstance(exc, ClockBehind):
                exc.alert()  # queued inside the transaction that just rolled back: again
            if not add_line_error(formset, lines, exc):
                exc.field = _INVOICE_FIELDS.get(exc.field or "", exc.field)
                add_service_error(form, exc)
        else:
            if issue:
                done = _("Invoice %(n)s issued.") % {"n": invoice.number}
            else:
                done = _("Draft saved.")
            messages.success(request, done)
            label = invoice.number or _("Draft #%(n)s") % {"n": invoice.pk}
            once_created(request, reverse("web:invoice", args=[invoice.pk]), label)
            return redirect("web:invoice", pk=invoice.pk)
    return page(form, formset)


def _detail_context(request: WebRequest, invoice: Invoice, **forms: Any) -> dict[str, Any]:
    today = clock.company_today(request.company)
    is_invoice = invoice.doc_type == DocType.INVOICE
    open_invoice = (
        invoice.is_issued
        and is_invoice
        and invoice.settlement in (Settlement.OPEN, Settlement.PARTIAL)
    )
    lines = list(invoice.lines.order_by("position"))
    vat_codes = list(dict.fromkeys(line.vat_code for line in lines))
    credited = invoice.credit_notes.filter(status=InvoiceStatus.ISSUED).order_by("pk")
    creditable = invoice.is_issued and is_invoice and invoice.settlement != "cancelled"
    room = _credit_room(invoice) if creditable else None
    return {
        "invoice": invoice,
        "lines": lines,
        # A recurring draft's lines whose quantity nobody confirmed yet: highlighted.
        "to_confirm": [
            x.position for x in lines if x.placeholder_quantity and not invoice.is_issued
        ],
        "today": today,
        "is_invoice": is_invoice,
        "open_invoice": open_invoice,
        "overdue": open_invoice and invoice.due_date is not None and invoice.due_date < today,
        "archive": ArchivedDocument.objects.filter(invoice=invoice).first(),
        # Its own emails, and the statements of account that reminded it with others.
        "attempts": DeliveryAttempt.objects.filter(
            Q(invoice=invoice)
            | Q(message_id__in=Reminder.objects.filter(invoice=invoice).values("message_id"))
        ).order_by("-attempted_at")[:100],
        "pending_emails": OutboxMessage.objects.filter(
            invoice=invoice, kind__startswith="email.", status=OutboxStatus.PENDING
        ).count(),
        "reminders": Reminder.objects.filter(invoice=invoice).order_by("sent_on", "pk"),
        "schedule": reminder_schedule(invoice, today) if open_invoice else [],
        "allocations": PaymentAllocation.objects.filter(invoice=invoice)
        .select_related("payment")
        .order_by("payment__received_on", "pk"),
        "credit_notes": credited,
        "drafted_credit_notes": invoice.credit_notes.filter(status=InvoiceStatus.DRAFT),
        # Nothing left to credit (partial credit notes up to the total): no credit form.
        "can_credit": room is not None and not room.empty,
        "credit_form": forms.get("credit_form") or CreditNoteForm(vat_codes=vat_codes, room=room),
    }


def _credit_room(invoice: Invoice) -> CreditRoom:
    return credit_room(invoice, locale="en" if (get_language() or "fr").startswith("en") else "fr")


def _get(request: WebRequest, pk: int) -> Invoice:
    qs = _visible(request).select_related("customer", "company", "subscription", "corrects")
    return get_visible(qs, pk=pk)


@requires(Can.VIEW)
def invoice_detail(request: WebRequest, pk: int) -> HttpResponse:
    invoice = _get(request, pk)
    return render(request, "web/invoices/detail.html", _detail_context(request, invoice))


def _archived(request: WebRequest, pk: int, which: str) -> HttpResponseBase:
    """The archived file, byte for byte as stored at issue (never rendered again)."""
    invoice = _get(request, pk)
    archive = ArchivedDocument.objects.filter(invoice=invoice).first()
    if archive is None:
        raise Http404(_("This document is not archived yet."))
    try:
        # Checked against the SHA-256 recorded at issue: a missing or altered file is never
        # handed out as the original.
        content = archived_bytes(archive, which)
    except ArchiveDamaged as exc:
        messages.error(request, exc.message)
        return redirect("web:invoice", pk=invoice.pk)
    content_type = "application/pdf" if which == "pdf" else "application/xml"
    filename = f"{invoice.number}.{which}".replace("/", "-")
    return FileResponse(BytesIO(content), content_type=content_type,
                        as_attachment=which == "xml", filename=filename)  # fmt: skip


@requires(Can.VIEW)
def invoice_pdf(request: WebRequest, pk: int) -> HttpResponseBase:
    return _archived(request, pk, "pdf")


@requires(Can.VIEW)
def invoice_xml(request: WebRequest, pk: int) -> HttpResponseBase:
    return _archived(request, pk, "xml")


def _act(request: WebRequest, pk: int, run: Any, done: str) -> HttpResponse:
    """Call one service on the invoice; a refusal is shown as a message, nothing changed."""
    invoice = _get(request, pk)
    try:
        result = run(invoice)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("web:invoice", pk=invoice.pk)
    messages.success(request, done % {"n": getattr(result, "number", None) or invoice.number})
    return redirect("web:invoice", pk=getattr(result, "pk", None) or invoice.pk)


@requires(Can.ISSUE_INVOICES)
@require_POST
def invoice_issue_view(request: WebRequest, pk: int) -> HttpResponse:
    as_is = "as_is" in request.POST  # "I confirm the quantities as they are"

    def run(invoice: Invoice) -> Invoice:
        if invoice.is_issued:
            return invoice
        return invoice_issue(invoice, actor=request.actor, as_is=as_is)

    return _act(request, pk, run, _("%(n)s issued."))


@requires(Can.EDIT_DRAFTS)
@require_POST
def invoice_delete_view(request: WebRequest, pk: int) -> HttpResponse:
    invoice = _get(request, pk)
    try:
        invoice_delete_draft(invoice, actor=request.actor)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("web:invoice", pk=invoice.pk)
    messages.success(request, _("Draft deleted."))
    return redirect("web:invoices")


@requires(Can.ISSUE_INVOICES)
@require_POST
def invoice_send_view(request: WebRequest, pk: int) -> HttpResponse:
    def run(invoice: Invoice) -> None:
        invoice_email_send(invoice, actor=request.actor)

    return _act(request, pk, run, _("%(n)s will be sent again in a moment."))


@requires(Can.ISSUE_INVOICES)
@require_POST
def invoice_remind_view(request: WebRequest, pk: int) -> HttpResponse:
    def run(invoice: Invoice) -> None:
        reminder_send_now(invoice, by=request.actor)

    return _act(request, pk, run, _("A reminder for %(n)s will be sent in a moment."))


@requires(Can.ISSUE_INVOICES)
@require_POST
def invoice_dispute_view(request: WebRequest, pk: int) -> HttpResponse:
    disputed = request.POST.get("disputed") == "1"

    def run(invoice: Invoice) -> Invoice:
        return invoice_dispute_set(invoice, disputed=disputed, by=request.actor)

    done = _("%(n)s marked as disputed.") if disputed else _("%(n)s is no longer disputed.")
    return _act(request, pk, run, done)


@requires(Can.ISSUE_CREDIT_NOTES)
@require_POST
@once("credit_note")
def invoice_credit_view(request: WebRequest, pk: int) -> HttpResponse:
    invoice = _get(request, pk)
    codes = invoice.lines.order_by("position").values_list("vat_code", flat=True)
    vat_codes = list(dict.fromkeys(codes))
    form = CreditNoteForm(request.POST, vat_codes=vat_codes, room=_credit_room(invoice))
    if form.is_valid():
        try:
            note = credit_note_create(
                invoice, actor=request.actor, lines=form.lines(),
                reason=form.cleaned_data.get("reason") or "",
            )  # fmt: skip
        except ServiceError as exc:
            partial = form.cleaned_data["scope"] == "partial"
            if partial and (exc.field is None or exc.field.startswith("lines[")):
                exc.field = "amount"  # e.g. more than what remains to credit
            if exc.field is not None and exc.field not in form.fields:
                # Refused by the invoice's state (a draft, a credit note): a message.
                messages.error(request, exc.message)
                once_nothing_created(request)
                return redirect("web:invoice", pk=invoice.pk)
            add_service_error(form, exc)
        else:
            messages.success(request, _("Credit note %(n)s issued.") % {"n": note.number})
            once_created(request, reverse("web:invoice", args=[note.pk]), str(note.number))
            return redirect("web:invoice", pk=note.pk)
    context = _detail_context(request, invoice, credit_form=form)
    return render(request, "web/invoices/detail.html", context)


urlpatterns = [
    path("", invoice_list, name="invoices"),
    path("new/", invoice_new, name="invoice_new"),
    path("<int:pk>/", invoice_detail, name="invoice"),
    path("<int:pk>/edit/", invoice_edit, name="invoice_edit"),
    path("<int:pk>/pdf/", invoice_pdf, name="invoice_pdf"),
    path("<int:pk>/xml/", invoice_xml, name="invoice_xml"),
    path("<int:pk>/issue/", invoice_issue_view, name="invoice_issue"),
    path("<int:pk>/delete/", invoice_delete_view, name="invoice_delete"),
    path("<int:pk>/send/", invoice_send_view, name="invoice_send"),
    path("<int:pk>/remind/", invoice_remind_view, name="invoice_remind"),
    path("<int:pk>/dispute/", invoice_dispute_view, name="invoice_dispute"),
    path("<int:pk>/credit/", invoice_credit_view, name="invoice_credit"),
]
