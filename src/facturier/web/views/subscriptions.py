"""Subscriptions: list, the one form that sets up a recurring invoice (with its htmx live
preview), the detail page (next billing date, lines, pauses, history) and its actions:
pause, resume, cancel, change a quantity or price at a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from facturier.billing import clock
from facturier.billing.kpis import line_totals, recurring_lines
from facturier.billing.models import (
    BilledPeriod,
    Company,
    Product,
    Subscription,
    SubscriptionLine,
    SubscriptionStatus,
)
from facturier.billing.models.subscription import LineMode
from facturier.billing.preview import first_run_count, subscription_preview
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.subscriptions import (
    schedule_of,
    subscription_approve,
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
    subscription_resume,
)
from facturier.core import kpis
from facturier.core import recurrence as rec
from facturier.core.money import round_money
from facturier.core.recurrence import PRESETS
from facturier.web.access import (
    Can,
    WebRequest,
    get_visible,
    requires,
    restrict_to_visible,
    visible_customers,
)
from facturier.web.forms.common import add_service_error, object_id, with_one_more_line
from facturier.web.forms.subscriptions import (
    SCHEDULE_FIELDS,
    CancelForm,
    ChangeForm,
    LineFormSet,
    PauseForm,
    ResumeForm,
    SubscriptionForm,
    add_line_error,
)
from facturier.web.once import once
from facturier.web.paging import paginate
from facturier.web.search import matching
from facturier.web.views.subscription_edit import (
    subscription_edit_preview_view,
    subscription_edit_view,
)

STATUS_FILTERS = SubscriptionStatus.choices


def frequency_label(sub: Subscription) -> str:
    """ "Monthly", "Every 3 weeks", "Twice a month (1, 15)"."""
    for key, preset in PRESETS.items():
        if (sub.frequency_unit, sub.interval) == (preset.unit, preset.interval):
            if key == "semi_monthly":
                days = f"{sub.semi_monthly_day1}, {sub.semi_monthly_day2}"
                return _("Twice a month (%(days)s)") % {"days": days}
            return {
                "weekly": _("Weekly"),
                "biweekly": _("Every two weeks"),
                "monthly": _("Monthly"),
                "bimonthly": _("Every two months"),
                "quarterly": _("Quarterly"),
                "half_yearly": _("Every six months"),
                "yearly": _("Yearly"),
            }[key]
    units = {
        "day": _("Every %(n)s days"),
        "week": _("Every %(n)s weeks"),
        "month": _("Every %(n)s months"),
        "year": _("Every %(n)s years"),
    }
    return units.get(sub.frequency_unit, "%(n)s") % {"n": sub.interval}


def _visible(request: WebRequest) -> QuerySet[Subscription]:
    return restrict_to_visible(Subscription.objects.all(), request)


@requires(Can.VIEW)
def subscription_list(request: WebRequest) -> HttpResponse:
    qs = _visible(request).select_related("customer")
    status = request.GET.get("status", "")
    if status in SubscriptionStatus.values:
        qs = qs.filter(status=status)
    q = request.GET.get("q", "").strip()
    if q:  # accents and case aside: "eleve" finds "Élève"
        qs = qs.filter(matching(q, "name", "customer__legal_name", "customer__code"))
    customer = object_id(request.GET.get("customer"))
    if customer is not None:  # not an id: no such filter
        qs = qs.filter(customer_id=customer)
    metered = SubscriptionLine.objects.filter(subscription=OuterRef("pk"), mode=LineMode.METERED)
    qs = qs.annotate(has_metered=Exists(metered))
    context = paginate(request, qs.order_by("next_billing_date", "pk"))
    page = list(context["page_obj"])
    amounts = _amounts(request.company, page, clock.company_today(request.company))
    rows = [(sub, frequency_label(sub), amounts.get(sub.pk)) for sub in page]
    context.update(
        rows=rows, statuses=STATUS_FILTERS, status=status, q=q, currency=request.company.currency
    )
    return render(request, "web/subscriptions/list.html", context)


def _amounts(
    company: Company, subs: list[Subscription], today: date
) -> dict[int, tuple[Decimal, Decimal]]:
    """(per period, per month) excl. VAT of each subscription of the page: its recurring
    lines and prices in effect today (metered usage aside), summed in SQL."""
    lines = recurring_lines(company, None, on=today).filter(subscription__in=subs)
    by_sub = {sub.pk: sub for sub in subs}
    out = {}
    for row in line_totals(lines, ["subscription_id"], today=today):
        sub = by_sub[row["subscription_id"]]
        total = Decimal(row["total"] or 0)
        item = kpis.RecurringAmount(total, sub.frequency_unit, sub.interval)
        out[sub.pk] = (round_money(total, company.currency), kpis.mrr([item], company.currency))
    return out


def _company_users(request: WebRequest) -> QuerySet[User]:
    return User.objects.filter(membership__company=request.company, is_active=True).order_by(
        "username"
    )


def _products(request: WebRequest) -> QuerySet[Product]:
    return Product.objects.filter(company=request.company, active=True).order_by("sku")


def _forms(request: WebRequest, data: Any = None) -> tuple[SubscriptionForm, Any]:
    form = SubscriptionForm(
        data,
        customers=visible_customers(request).order_by("legal_name"),
        users=_company_users(request),
        initial={
            "anchor": clock.company_today(request.company),
            "frequency": "monthly",
            "customer": request.GET.get("customer"),
        },
    )
    lines = LineFormSet(data, prefix="lines", form_kwargs={"products": _products(request)})
    return form, lines


def _route_error(form: SubscriptionForm, formset: Any, lines: list[Any], exc: ServiceError) -> None:
    """A refused preview or creation, shown next to the field or line at fault."""
    if add_line_error(formset, lines, exc):
        return
    field = SCHEDULE_FIELDS.get(exc.field or "", exc.field)
    if field in form.fields:
        form.add_error(field, exc.message)
    else:
        add_service_error(form, exc)


@requires(Can.MANAGE_SUBSCRIPTIONS)
@once("subscription")  # sent once: a replay creates nothing (web/once.py)
def subscription_create_view(request: WebRequest) -> HttpResponse:
    if request.method != "POST":
        form, formset = _forms(request)
        return render(request, "web/subscriptions/form.html", {"form": form, "lines": formset})
    if "add_line" in request.POST:
        return _with_one_more_line(request)
    form, formset = _forms(request, request.POST)
    if form.is_valid() and formset.is_valid():
        lines = formset.filled()
        data = [line.line_data() for line in lines]
        customer = form.cleaned_data["customer"]
        try:
            # Checks the schedule field by field first (the same refusals, nothing written).
            subscription_preview(
                customer=customer, lines=data, today=clock.company_today(request.company),
                count=1, **form.schedule(),
            )  # fmt: skip
            sub = subscription_create(
                customer=customer, name=form.cleaned_data["name"], lines=data,
                actor=request.actor, **form.schedule(), **form.options(),
            )  # fmt: skip
        except ServiceError as exc:
            _route_error(form, formset, lines, exc)
        else:
            messages.success(request, _("Subscription “%(name)s” created.") % {"name": sub.name})
            return redirect("web:subscription", pk=sub.pk)
    context = {"form": form, "lines": formset}
    return render(request, "web/subscriptions/form.html", context)


def _with_one_more_line(request: WebRequest) -> HttpResponse:
    form, formset = with_one_more_line(request.POST, lambda data: _forms(request, data), limit=50)
    return render(request, "web/subscriptions/form.html", {"form": form, "lines": formset})


@requires(Can.MANAGE_SUBSCRIPTIONS)
@require_POST
def subscription_preview_view(request: WebRequest) -> HttpResponse:
    """The live preview (htmx): the first six invoices of the form as it stands."""
    form, formset = _forms(request, request.POST)
    form.fields["name"].required = False  # the name changes no date nor amount
    context: dict[str, Any] = {"currency": request.company.currency}
    if form.is_valid() and formset.is_valid():
        lines = formset.filled()
        today = clock.company_today(request.company)
        customer = form.cleaned_data["customer"]
        try:
            context["items"] = subscription_preview(
                customer=customer,
                lines=[line.line_data() for line in lines],
                today=today,
                **form.schedule(),
            )
            context["first_run"] = first_run_count(
                customer=customer, today=today, **form.schedule()
            )
            context["needs_approval"] = Can.ISSUE_INVOICES not in request.can
        except ServiceError as exc:
            _route_error(form, formset, lines, exc)
    context["problems"] = _problems(form, formset)
    return render(request, "web/subscriptions/preview.html", context)


def _problems(form: SubscriptionForm, formset: Any) -> list[str]:
    """What keeps the preview from showing, in words (the form shows them by field on save)."""
    out = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        out += [f"{label}: {e}" if label else str(e) for e in errors]
    for i, line_errors in enumerate(formset.errors, start=1):
        for name, errors in line_errors.items():
            out += [_("Line %(n)s: %(e)s") % {"n": i, "e": e} for e in errors if name]
    out += [str(e) for e in formset.non_form_errors()]
    return out


def _detail_context(request: WebRequest, sub: Subscription, **forms: Any) -> dict[str, Any]:
    today = clock.company_today(request.company)
    lines = sub.lines.select_related("product").prefetch_related("changes").order_by("position")
    history = BilledPeriod.objects.filter(subscription=sub).select_related("invoice")
    context = paginate(request, history.order_by("-start"), per_page=24)
    open_pause = sub.pauses.filter(end__isnull=True).first()
    schedule = schedule_of(sub)
    context.update(
        sub=sub,
        today=today,
        # What the first invoice covers: a stub from the service start is prorated.
        first_period=rec.period_or_none(schedule, rec.first_index(schedule)),
        frequency=frequency_label(sub),
        lines=lines,
        pauses=sub.pauses.order_by("start"),
        open_pause=open_pause,
        active=sub.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED),
        pause_form=forms.get("pause_form") or PauseForm(initial={"start": today}),
        resume_form=forms.get("resume_form") or ResumeForm(initial={"on": today}),
        cancel_form=forms.get("cancel_form")
        or CancelForm(initial={"on": today}, may_credit=Can.ISSUE_CREDIT_NOTES in request.can),
        change_form=forms.get("change_form")
        or ChangeForm(lines=sub.lines.order_by("position"), initial={"effective": today}),
    )
    return context


@requires(Can.VIEW)
def subscription_detail(request: WebRequest, pk: int) -> HttpResponse:
    sub = get_visible(_visible(request).select_related("customer", "sales_rep"), pk=pk)
    return render(request, "web/subscriptions/detail.html", _detail_context(request, sub))


def _action(
    request: WebRequest, pk: int, form: Any, name: str, run: Any, done: str
) -> HttpResponse:
    """Validate an action's form, call its service; an error about a field goes next to it,
    a refusal of the state (e.g. pausing a cancelled subscription) is a message."""
    sub = get_visible(_visible(request).select_related("customer", "sales_rep"), pk=pk)
    if form.is_valid():
        try:
            run(sub, form.cleaned_data)
        except ServiceError as exc:
            if exc.field not in form.fields:
                messages.error(request, exc.message)
                return redirect("web:subscription", pk=pk)
            add_service_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("web:subscription", pk=pk)
    context = _detail_context(request, sub, **{name: form})
    return render(request, "web/subscriptions/detail.html", context)


@requires(Can.MANAGE_SUBSCRIPTIONS)
@require_POST
def subscription_pause_view(request: WebRequest, pk: int) -> HttpResponse:
    def run(sub: Subscription, data: dict[str, Any]) -> None:
        subscription_pause(sub, start=data["start"], end=data.get("end"), actor=request.actor)

    form = PauseForm(request.POST)
    return _action(request, pk, form, "pause_form", run, _("Subscription paused."))


@requires(Can.MANAGE_SUBSCRIPTIONS)
@require_POST
def subscription_resume_view(request: WebRequest, pk: int) -> HttpResponse:
    def run(sub: Subscription, data: dict[str, Any]) -> None:
        subscription_resume(sub, on=data["on"], actor=request.actor)

    form = ResumeForm(request.POST)
    return _action(request, pk, form, "resume_form", run, _("Subscription resumed."))


@requires(Can.MANAGE_SUBSCRIPTIONS)
@require_POST
def subscription_cancel_view(request: WebRequest, pk: int) -> HttpResponse:
    def run(sub: Subscription, data: dict[str, Any]) -> None:
        now = data["when"] == "now"
        subscription_cancel(
            sub, actor=request.actor, at_period_end=not now,
            on=data.get("on") if now else None, credit=now and bool(data.get("credit")),
        )  # fmt: skip

    form = CancelForm(request.POST, may_credit=Can.ISSUE_CREDIT_NOTES in request.can)
    return _action(request, pk, form, "cancel_form", run, _("Subscription cancelled."))


@requires(Can.ISSUE_INVOICES)
@require_POST
def subscription_approve_view(request: WebRequest, pk: int) -> HttpResponse:
    """An owner or accountant approves a subscription a sales rep set up or re-priced."""
    sub = get_visible(_visible(request), pk=pk)
    try:
        subscription_approve(sub, actor=request.actor)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Subscription approved: the next billing runs issue its invoices. Drafts already "
              "prepared wait in the invoices to review."),
        )  # fmt: skip
    return redirect("web:subscription", pk=pk)


@requires(Can.MANAGE_SUBSCRIPTIONS)
@require_POST
def subscription_change_view(request: WebRequest, pk: int) -> HttpResponse:
    sub = get_visible(_visible(request), pk=pk)

    def run(sub: Subscription, data: dict[str, Any]) -> None:
        subscription_change(
            data["line"], effective=data["effective"], actor=request.actor,
            quantity=data.get("quantity"), unit_price=data.get("unit_price"),
        )  # fmt: skip

    form = ChangeForm(request.POST, lines=sub.lines.order_by("position"))
    return _action(request, pk, form, "change_form", run, _("Change recorded."))


urlpatterns = [
    path("", subscription_list, name="subscriptions"),
    path("<int:pk>/edit/", subscription_edit_view, name="subscription_edit"),
    path(
        "<int:pk>/edit/preview/", subscription_edit_preview_view, name="subscription_edit_preview"
    ),
    path("new/", subscription_create_view, name="subscription_create"),
    path("preview/", subscription_preview_view, name="subscription_preview"),
    path("<int:pk>/", subscription_detail, name="subscription"),
    path("<int:pk>/pause/", subscription_pause_view, name="subscription_pause"),
    path("<int:pk>/resume/", subscription_resume_view, name="subscription_resume"),
    path("<int:pk>/cancel/", subscription_cancel_view, name="subscription_cancel"),
    path("<int:pk>/approve/", subscription_approve_view, name="subscription_approve"),
    path("<int:pk>/change/", subscription_change_view, name="subscription_change"),
]
