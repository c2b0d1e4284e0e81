"""The dashboard: recurring revenue, receivables, what needs attention, three charts."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from facturier.billing import cash_projection, clock, kpis
from facturier.billing.models import Company
from facturier.core.kpis import month_starts
from facturier.core.money import format_date
from facturier.web.access import Can, WebRequest, requires, sees_own_customers_only

# The sums behind the figures are kept until the next audited write (see _cache_key), at most
# this long (a change nobody audits, such as a customer given to another sales rep, shows
# after it). The cash chart, the costliest, is also loaded after the page (htmx).
FIGURES_CACHE_SECONDS = 300
CASH_CACHE_SECONDS = 300
CASH_MONTHS = 6

_MONTHS_FR = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _month_label(day: Any) -> str:
    names = _MONTHS_EN if (get_language() or "fr").startswith("en") else _MONTHS_FR
    return f"{names[day.month - 1]} {day:%y}"


def _locale() -> str:
    return "en" if (get_language() or "fr").startswith("en") else "fr"


def _chart(labels: list[str], currency: str, **series: Any) -> dict[str, Any]:
    """The JSON a <canvas data-chart> reads (see static/web/app.js)."""
    return {
        "labels": labels,
        "money": currency,
        "locale": _locale(),
        "datasets": [
            {"label": label, "data": [str(v) for v in data]} for label, data in series.values()
        ],
    }


def _cache_key(kind: str, company: Company, today: date, rep: User | None) -> str:
    """Figures stay valid until the next audited write (a payment, an issued document, a
    subscription change...) or the next day, whichever comes first."""
    scope = rep.pk if rep else 0
    return f"web:{kind}:{company.pk}:{scope}:{today.isoformat()}:{kpis.audit_tip(company)}"


def _figures(company: Company, today: date, rep: User | None) -> kpis.Figures:
    """The dashboard's figures; the sums over invoices and subscriptions come from the cache
    when nothing was written since, the counts of what waits are always fresh."""
    key = _cache_key("figures", company, today, rep)
    figures: kpis.Figures | None = cache.get(key)
    if figures is None:
        fresh = kpis.dashboard_figures(company, today=today, sales_rep=rep)
        cache.set(key, fresh, FIGURES_CACHE_SECONDS)
        return fresh
    waiting = kpis.attention(company, sales_rep=rep)
    return dataclasses.replace(
        figures,
        drafts=waiting.drafts,
        drafts_to_confirm=waiting.drafts_to_confirm,
        failed_deliveries=waiting.failed_deliveries,
        next_billing_date=waiting.next_billing_date,
    )


@requires(Can.VIEW)
def dashboard(request: WebRequest) -> HttpResponse:
    company = request.company
    today = clock.company_today(company)
    rep = request.user if sees_own_customers_only(request) else None
    figures = _figures(company, today, rep)
    labels = [_month_label(m) for m in figures.months]
    context = {
        "f": figures,
        "today_label": format_date(today, locale=_locale()),
        "buckets": list(figures.ageing.buckets.items()),
        "restricted": rep is not None,
        "mrr_chart": _chart(labels, company.currency, mrr=(_("MRR"), figures.mrr_history)),
        "flow_chart": _chart(
            labels,
            company.currency,
            invoiced=(_("Invoiced (incl. VAT)"), figures.invoiced_per_month),
            collected=(_("Collected"), figures.collected_per_month),
        ),
    }
    return render(request, "web/dashboard.html", context)


@requires(Can.VIEW)
def dashboard_cash(request: WebRequest) -> HttpResponse:
    """The "cash expected" chart, loaded by the dashboard after the page."""
    company = request.company
    today = clock.company_today(company)
    rep = request.user if sees_own_customers_only(request) else None
    key = _cache_key(f"cash{CASH_MONTHS}", company, today, rep)
    values = cache.get(key)
    if values is None:
        values = cash_projection.cash_expected(
            company, today=today, months=CASH_MONTHS, sales_rep=rep
        )
        cache.set(key, values, CASH_CACHE_SECONDS)
    labels = [_month_label(m) for m in month_starts(today, ahead=CASH_MONTHS - 1)]
    chart = _chart(labels, company.currency, cash=(_("Cash expected"), values))
    return render(
        request,
        "web/dashboard_cash.html",
        # In an attribute (escaped by the template): htmx drops <script> elements it swaps in.
        {"cash_spec": json.dumps(chart), "cash": list(zip(labels, values, strict=True))},
    )
