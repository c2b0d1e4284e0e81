"""The forecast: the invoices each active subscription will produce, per month (table and
chart) and one by one, with a CSV export. Computed, never stored nor numbered.

Computing it reads every subscription (seconds for 10,000 of them): the result is kept in
the cache until the next audited write (a subscription created, changed, paused or cancelled,
an invoice issued...), the next recorded usage or the next day, at most FORECAST_CACHE_SECONDS
(a change nobody audits, such as a customer's new name, shows after it). The pages of the
detail then read the kept rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from facturier.billing import clock, exports, kpis
from facturier.billing.forecast import forecast
from facturier.billing.models import Subscription, UsageRecord
from facturier.core.forecast import ForecastItem, MonthTotal, monthly_totals
from facturier.web.access import (
    Can,
    WebRequest,
    requires,
    restrict_to_visible,
    sees_own_customers_only,
)
from facturier.web.forms.exports import StyleForm
from facturier.web.views.exports import download

MONTH_CHOICES = [(n, str(n)) for n in (1, 3, 6, 12, 18, 24)]


class ForecastForm(forms.Form):
    months = forms.TypedChoiceField(
        label=gettext_lazy("Months ahead"), choices=MONTH_CHOICES, coerce=int, initial=6
    )


def _months(request: WebRequest) -> tuple[ForecastForm, int]:
    form = ForecastForm(request.GET or None)
    months = form.cleaned_data["months"] if form.is_bound and form.is_valid() else 6
    return form, months


FORECAST_CACHE_SECONDS = 300

# A forecast row in the cache: plain values (a tenth of the time to unpickle of the objects).
Row = tuple[int, int, str, str, str, str, int | None, int | None, bool]


def _row(i: ForecastItem) -> Row:
    start = i.period_start.toordinal() if i.period_start else None
    end = i.period_end.toordinal() if i.period_end else None
    return (i.on.toordinal(), i.subscription_id, i.subscription, i.customer, str(i.net),
            str(i.vat), start, end, i.estimated)  # fmt: skip


def _item(row: Row) -> ForecastItem:
    on, sub_id, sub, customer, net, vat, start, end, estimated = row
    return ForecastItem(
        date.fromordinal(on), sub_id, sub, customer, Decimal(net), Decimal(vat),
        date.fromordinal(start) if start else None, date.fromordinal(end) if end else None,
        estimated,
    )  # fmt: skip


@dataclass(frozen=True)
class Forecast:
    """What the pages show: the monthly totals, and the invoices to come as rows."""

    months: list[MonthTotal]
    rows: list[Row]
    estimated: bool


def _computed(request: WebRequest, months: int) -> Forecast:
    today = clock.company_today(request.company)
    items = forecast(company=request.company, today=today, months=months)
    if sees_own_customers_only(request):
        visible = set(
            restrict_to_visible(Subscription.objects.all(), request).values_list("pk", flat=True)
        )
        items = [i for i in items if i.subscription_id in visible]
    return Forecast(monthly_totals(items), [_row(i) for i in items],
                    any(i.estimated for i in items))  # fmt: skip


def _cache_key(request: WebRequest, months: int) -> str:
    company = request.company
    scope = request.user.pk if sees_own_customers_only(request) else 0
    today = clock.company_today(company)
    # Recorded usage changes the metered estimates and is not audited: its latest id.
    usage = (
        UsageRecord.objects.filter(line__subscription__company=company)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return (
        f"web:forecast{months}:{company.pk}:{scope}:{today.isoformat()}:"
        f"{kpis.audit_tip(company)}:{usage or 0}"
    )


def _forecast(request: WebRequest, months: int) -> Forecast:
    key = _cache_key(request, months)
    found: Forecast | None = cache.get(key)
    if found is None:
        found = _computed(request, months)
        cache.set(key, found, FORECAST_CACHE_SECONDS)
    return found


def _month_label(month: str) -> str:
    """ "2026-12" → "12/2026" (French) or "2026-12" (English)."""
    year, number = month.split("-")
    return month if (get_language() or "fr").startswith("en") else f"{number}/{year}"


@requires(Can.VIEW)
def forecast_page(request: WebRequest) -> HttpResponse:
    form, months = _months(request)
    result = _forecast(request, months)
    totals = result.months
    labels = [_month_label(m.month) for m in totals]
    chart: dict[str, Any] = {
        "labels": labels,
        "money": request.company.currency,
        "locale": "en" if (get_language() or "fr").startswith("en") else "fr",
        "datasets": [
            {"label": _("Excl. VAT"), "data": [str(m.net) for m in totals]},
            {"label": _("Incl. VAT"), "data": [str(m.gross) for m in totals]},
        ],
    }
    page: Any = Paginator(result.rows, 50).get_page(request.GET.get("page"))
    page.object_list = [_item(row) for row in page.object_list]  # only this page's rows
    context = {
        "form": form,
        "months": months,
        "rows": list(zip(labels, totals, strict=True)),
        "chart": chart,
        "page_obj": page,
        "query_without_page": f"months={months}&",
        "currency": request.company.currency,
        "estimated": result.estimated,
        "total_net": sum((m.net for m in totals), Decimal(0)),
        "total_gross": sum((m.gross for m in totals), Decimal(0)),
        "count": len(result.rows),
    }
    return render(request, "web/forecast/page.html", context)


@requires(Can.VIEW)
def forecast_csv(request: WebRequest) -> HttpResponseBase:
    """The invoices to come as a CSV file like the invoices' (same columns' names, French
    spreadsheet style with a byte-order mark, or ?style=iso)."""
    _form, months = _months(request)
    items = [_item(row) for row in _forecast(request, months).rows]
    today = clock.company_today(request.company)
    style = StyleForm(request.GET).chosen_style()
    rows = exports.forecast_rows(items, currency=request.company.currency, style=style)
    name = f"previsionnel-{today:%Y%m%d}-{months}m.csv"
    return download(exports.csv_file(rows, style=style), name, "text/csv")


urlpatterns = [
    path("", forecast_page, name="forecast"),
    path("csv/", forecast_csv, name="forecast_csv"),
]
