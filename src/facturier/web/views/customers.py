"""Customers: list with search and balance, detail, statement of account, create and edit
(warned of a customer that already exists), and the customer's credit used on an invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import (
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from facturier.billing.aggregates import MONEY, Exact
from facturier.billing.models import (
    Customer,
    DocType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentReversal,
    Refund,
    Reminder,
    Settlement,
    Subscription,
)
from facturier.billing.selectors import customer_balance, customer_credit
from facturier.billing.services import credit_allocate, customer_create, customer_update
from facturier.billing.services.errors import ServiceError
from facturier.billing.statement import customer_statement
from facturier.web.access import (
    Can,
    WebRequest,
    get_visible,
    requires,
    sees_own_customers_only,
    visible_customers,
)
from facturier.web.forms.common import add_service_error
from facturier.web.forms.parties import CustomerForm
from facturier.web.forms.payments import UseCreditForm
from facturier.web.once import once, once_created
from facturier.web.paging import paginate
from facturier.web.views.subscriptions import frequency_label

RECENT = 20  # rows of each kind on the detail page; the full lists are in their sections


def _sum(qs: QuerySet[Any], expression: Any, *, by: str = "customer") -> Any:
    """Σ `expression` over `qs` (correlated to the customer row), 0 when empty."""
    total = qs.order_by().values(by).annotate(s=Sum(expression)).values("s")
    return Coalesce(Subquery(total, output_field=MONEY), Value(Decimal(0), output_field=MONEY))


def with_balance(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """Annotate `balance` = unpaid on issued invoices − payments not yet allocated
    (the same figure as selectors.customer_balance, computed for a page of rows in SQL)."""
    open_invoices = Invoice.objects.filter(
        customer=OuterRef("pk"),
        status=InvoiceStatus.ISSUED,
        doc_type=DocType.INVOICE,
        settlement__in=[Settlement.OPEN, Settlement.PARTIAL],
    )
    unpaid = ExpressionWrapper(F("total_gross") - F("settled_amount"), output_field=MONEY)
    paid = Payment.objects.filter(customer=OuterRef("pk"))
    allocated = PaymentAllocation.objects.filter(payment__customer=OuterRef("pk"))
    reversed_ = PaymentReversal.objects.filter(payment__customer=OuterRef("pk"))
    refunded = Refund.objects.filter(customer=OuterRef("pk"))
    balance = (
        _sum(open_invoices, unpaid)
        - _sum(paid, F("amount"))
        + _sum(allocated, F("amount"), by="payment__customer")
        + _sum(reversed_, F("amount"), by="payment__customer")
        + _sum(refunded, F("amount"))
    )
    return qs.annotate(balance=Exact(balance, output_field=MONEY))


@requires(Can.VIEW)
def customer_list(request: WebRequest) -> HttpResponse:
    qs = visible_customers(request).select_related("sales_rep")
    query = request.GET.get("q", "").strip()
    mine = request.GET.get("mine") == "1"
    if mine:
        qs = qs.filter(sales_rep=request.user)
    if query:
        compact = query.replace(" ", "")
        qs = qs.filter(
            Q(legal_name__icontains=query)
            | Q(code__iexact=query)
            | Q(siren=compact)
            | Q(siret=compact)
            | Q(city__icontains=query)
        )
    context = {"query": query, "mine": mine, **paginate(request, qs.order_by("legal_name", "pk"))}
    # Balances of the page's rows only (an OFFSET would still compute the skipped ones).
    rows = list(context["page_obj"])
    ids = [c.pk for c in rows]
    page = with_balance(Customer.objects.filter(pk__in=ids))
    balances = dict(page.values_list("pk", "balance"))  # type: ignore[misc]
    for row in rows:
        row.balance = balances[row.pk]  # type: ignore[attr-defined]
    context["rows"] = rows
    template = (
        "web/customers/rows.html"
        if request.headers.get("HX-Request")
        else "web/customers/list.html"
    )
    return render(request, template, context)


@requires(Can.VIEW)
def customer_detail(request: WebRequest, pk: int) -> HttpResponse:
    customer = get_visible(visible_customers(request).select_related("sales_rep"), pk=pk)
    return render(request, "web/customers/detail.html", _detail_context(customer))


def _open_invoices(customer: Customer) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        customer=customer, status=InvoiceStatus.ISSUED, doc_type=DocType.INVOICE,
        settlement__in=[Settlement.OPEN, Settlement.PARTIAL],
    ).order_by("due_date", "pk")  # fmt: skip


def _detail_context(customer: Customer, credit_form: UseCreditForm | None = None) -> dict[str, Any]:
    invoices = Invoice.objects.filter(customer=customer).order_by("-issue_date", "-pk")[:RECENT]
    payments = list(
        Payment.objects.filter(customer=customer).order_by("-received_on", "-pk")[:RECENT]
    )
    reversed_ids = set(
        PaymentReversal.objects.filter(payment__in=payments).values_list("payment_id", flat=True)
    )
    credit = customer_credit(customer)
    open_invoices = _open_invoices(customer)
    first = open_invoices.first()
    initial = {"invoice": first, "amount": min(credit, first.balance)} if first else {}
    return {
        "customer": customer,
        "balance": customer_balance(customer),
        "credit": credit,
        "invoices": invoices,
        "subscriptions": [
            (sub, frequency_label(sub))
            for sub in Subscription.objects.filter(customer=customer).order_by("-pk")[:RECENT]
        ],
        "payments": [(p, p.pk in reversed_ids) for p in payments],
        "refunds": Refund.objects.filter(customer=customer).order_by("-refunded_on", "-pk")[
            :RECENT
        ],
        "reminders": Reminder.objects.filter(invoice__customer=customer)
        .select_related("invoice")
        .order_by("-sent_on", "-pk")[:RECENT],
        "recent": RECENT,
        "credit_form": credit_form
        or (UseCreditForm(invoices=open_invoices, initial=initial) if credit > 0 else None),
        "can_use_credit": credit > 0 and first is not None,
    }


@requires(Can.RECORD_PAYMENTS)
@require_POST
@once("credit_use")
def customer_use_credit(request: WebRequest, pk: int) -> HttpResponse:
    """Settle an open invoice with the customer's credit (its unallocated payments)."""
    customer = get_visible(visible_customers(request), pk=pk)
    form = UseCreditForm(request.POST, invoices=_open_invoices(customer))
    if form.is_valid():
        try:
            credit_allocate(
                customer=customer, invoice=form.cleaned_data["invoice"],
                amount=form.cleaned_data["amount"], actor=request.actor,
            )  # fmt: skip
        except ServiceError as exc:
            exc.field = "amount" if exc.field != "invoice" else exc.field
            add_service_error(form, exc)
        else:
            messages.success(request, _("%(n)s settled with the customer's credit.")
                             % {"n": form.cleaned_data["invoice"].number})  # fmt: skip
            return redirect("web:customer", pk=customer.pk)
    context = _detail_context(customer, credit_form=form)
    return render(request, "web/customers/detail.html", context)


@requires(Can.VIEW)
def customer_statement_view(request: WebRequest, pk: int) -> HttpResponse:
    """Every movement of the customer's account, with the running balance."""
    customer = get_visible(visible_customers(request), pk=pk)
    movements = customer_statement(customer)
    context = {
        "customer": customer,
        "movements": movements,
        "balance": movements[-1].balance if movements else Decimal(0),
        "credit": customer_credit(customer),
    }
    return render(request, "web/customers/statement.html", context)


def _duplicates_page(
    request: WebRequest, form: CustomerForm, customer: Customer | None, found: list[Any]
) -> HttpResponse:
    """The form again with a warning naming the customers it matches, and the box to tick
    to save anyway (nothing is saved until then). A customer the user may not see (a sales
    rep restricted to their own) is said to exist, not named."""
    ids = [d.customer.pk for d in found if d.customer is not None]
    visible = set(visible_customers(request).filter(pk__in=ids).values_list("pk", flat=True))
    shown = [(d, d.customer is not None and d.customer.pk in visible) for d in found]
    context = {"form": form, "customer": customer, "duplicates": shown}
    return render(request, "web/customers/form.html", context)


@requires(Can.MANAGE_CUSTOMERS)
@once("customer")
def customer_new(request: WebRequest) -> HttpResponse:
    form = CustomerForm(
        request.POST or None,
        company=request.company,
        only_rep=request.user if sees_own_customers_only(request) else None,
        instance=Customer(company=request.company),
        initial={"sales_rep": request.user.pk, "country": "FR"},
    )
    if request.method == "POST" and form.is_valid():
        found = form.duplicates(request.company)
        if found:
            return _duplicates_page(request, form, None, found)
        try:
            customer = customer_create(company=request.company, **form.service_fields())
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            done = _("Customer %(name)s created.") % {"name": customer}
            messages.success(request, done)
            once_created(request, reverse("web:customer", args=[customer.pk]), done)
            return redirect("web:customer", pk=customer.pk)
    return render(request, "web/customers/form.html", {"form": form, "customer": None})


@requires(Can.MANAGE_CUSTOMERS)
def customer_edit(request: WebRequest, pk: int) -> HttpResponse:
    customer = get_visible(visible_customers(request), pk=pk)
    # The form works on its own copy: an invalid input must not rename the page's customer.
    form = CustomerForm(
        request.POST or None,
        company=request.company,
        only_rep=request.user if sees_own_customers_only(request) else None,
        instance=Customer.objects.get(pk=pk),
    )
    if request.method == "POST" and form.is_valid():
        found = form.duplicates(request.company)
        if found:
            return _duplicates_page(request, form, customer, found)
        fields = form.service_fields()
        try:
            # A fresh row: the form already copied the input onto `customer` in memory.
            customer_update(Customer.objects.get(pk=customer.pk), **fields)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Customer %(name)s saved.") % {"name": fields["legal_name"]}
            )
            return redirect("web:customer", pk=customer.pk)
    return render(request, "web/customers/form.html", {"form": form, "customer": customer})


urlpatterns = [
    path("", customer_list, name="customers"),
    path("new/", customer_new, name="customer_new"),
    path("<int:pk>/", customer_detail, name="customer"),
    path("<int:pk>/edit/", customer_edit, name="customer_edit"),
    path("<int:pk>/statement/", customer_statement_view, name="customer_statement"),
    path("<int:pk>/use-credit/", customer_use_credit, name="customer_use_credit"),
]
