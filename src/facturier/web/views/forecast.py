"""The forecast: the invoices each active subscription will produce, per month (table and
chart) and one by one, with a CSV export. Computed, never stored nor numbered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from facturier.billing import clock, exports
from facturier.billing.forecast import forecast
from facturier.billing.models import Subscription
from facturier.core.forecast import ForecastItem, monthly_totals
from facturier.web.access import (
    Can,
    WebRequest,
    requires,
    restrict_to_visible,
    sees_own_customers_only,
)

MONTH_CHOICES = [(n, str(n)) for n in (1, 3, 6, 12, 18, 24)]


class ForecastForm(forms.Form):
    months = forms.TypedChoiceField(
        label=gettext_lazy("Months ahead"), choices=MONTH_CHOICES, coerce=int, initial=6
    )


def _months(request: WebRequest) -> tuple[ForecastForm, int]:
    form = ForecastForm(request.GET or None)
    months = form.cleaned_data["months"] if form.is_bound and form.is_valid() else 6
    return form, months


def _items(request: WebRequest, months: int) -> list[ForecastItem]:
    today = clock.company_today(request.company)
    items = forecast(company=request.company, today=today, months=months)
    if sees_own_customers_only(request):
        visible = set(
            restrict_to_visible(Subscription.objects.all(), request).values_list("pk", flat=True)
        )
        items = [i for i in items if i.subscription_id in visible]
    return items


def _month_label(month: str) -> str:
    """ "2026-12" → "12/2026" (French) or "2026-12" (English)."""
    year, number = month.split("-")
    return month if (get_language() or "fr").startswith("en") else f"{number}/{year}"


@requires(Can.VIEW)
def forecast_page(request: WebRequest) -> HttpResponse:
    form, months = _months(request)
    items = _items(request, months)
    totals = monthly_totals(items)
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
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "months": months,
        "rows": list(zip(labels, totals, strict=True)),
        "chart": chart,
        "page_obj": page,
        "query_without_page": f"months={months}&",
        "currency": request.company.currency,
        "estimated": any(i.estimated for i in items),
        "total_net": sum((m.net for m in totals), Decimal(0)),
        "total_gross": sum((m.gross for m in totals), Decimal(0)),
        "count": len(items),
    }
    return render(request, "web/forecast/page.html", context)


@requires(Can.VIEW)
def forecast_csv(request: WebRequest) -> HttpResponseBase:
    _form, months = _months(request)
    items = _items(request, months)
    today = clock.company_today(request.company)
    response = StreamingHttpResponse(
        exports.csv_lines(exports.forecast_rows(items)), content_type="text/csv; charset=utf-8"
    )
    name = f"previsionnel-{today:%Y%m%d}-{months}m.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("", forecast_page, name="forecast"),
    path("csv/", forecast_csv, name="forecast_csv"),
]
