"""Billing runs: the ledger of runs (what was due, issued, drafted, skipped or failed, and
why) and "run now", which bills the user's company at once through the billing-run service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from facturier.billing.models import BillingRun, RunItem
from facturier.billing.services.billing_run import billing_run
from facturier.web.access import (
    Can,
    WebRequest,
    get_visible,
    requires,
    restrict_to_visible,
)
from facturier.web.paging import paginate

OUTCOMES = ["invoiced", "drafted", "skipped", "failed"]


def _runs(request: WebRequest) -> QuerySet[BillingRun]:
    """Runs that covered the company: its own, and runs over every company (the worker's
    default). Dry runs leave no record."""
    return BillingRun.objects.filter(
        Q(company=request.company) | Q(company__isnull=True), dry_run=False
    )


def _items(request: WebRequest) -> QuerySet[RunItem]:
    """Run items of this company's subscriptions the user may see."""
    return restrict_to_visible(
        RunItem.objects.all(), request, customer_field="subscription__customer"
    )


def _counts(request: WebRequest, runs: list[BillingRun]) -> dict[int, dict[str, int]]:
    """Per run, the outcomes of this company's periods, in one grouped query."""
    rows = (
        _items(request)
        .filter(run__in=runs)
        .values("run_id", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {run.pk: dict.fromkeys(OUTCOMES, 0) for run in runs}
    for row in rows:
        counts[row["run_id"]][row["outcome"]] = row["n"]
    for c in counts.values():
        c["due"] = c["invoiced"] + c["drafted"] + c["skipped"]
    return counts


@requires(Can.VIEW)
def run_list(request: WebRequest) -> HttpResponse:
    context = paginate(request, _runs(request).order_by("-started_at", "-pk"))
    runs = list(context["page_obj"])
    counts = _counts(request, runs)
    context["rows"] = [(run, counts[run.pk]) for run in runs]
    return render(request, "web/runs/list.html", context)


@requires(Can.VIEW)
def run_detail(request: WebRequest, pk: int) -> HttpResponse:
    run = get_visible(_runs(request), pk=pk)
    items = _items(request).filter(run=run)
    outcome = request.GET.get("outcome", "")
    counts = _counts(request, [run])[run.pk]
    if outcome in OUTCOMES:
        items = items.filter(outcome=outcome)
    ordered = items.select_related("subscription__customer", "invoice").order_by(
        "subscription__customer__legal_name", "subscription_id", "period_start", "pk"
    )
    context: dict[str, Any] = paginate(request, ordered)
    context.update(run=run, counts=counts, outcome=outcome, outcomes=OUTCOMES)
    return render(request, "web/runs/detail.html", context)


@requires(Can.RUN_BILLING)
@require_POST
def run_now(request: WebRequest) -> HttpResponse:
    """Bill every period due today for the user's company, now (the worker does it anyway
    from the company's billing hour)."""
    summary = billing_run(
        company=request.company,
        worker=f"web:{request.user.get_username()}",
        keep_outcomes=False,
        actor=request.actor,
    )
    text = _(
        "Billing run done: %(due)s due, %(issued)s issued, %(drafted)s drafts, "
        "%(skipped)s skipped, %(failed)s failed."
    ) % {
        "due": summary.due, "issued": summary.issued, "drafted": summary.drafted,
        "skipped": summary.skipped, "failed": summary.failed,
    }  # fmt: skip
    (messages.warning if summary.failed else messages.success)(request, text)
    if summary.run_id is None:
        return redirect("web:runs")
    return redirect("web:run", pk=summary.run_id)


urlpatterns = [
    path("", run_list, name="runs"),
    path("run/", run_now, name="run_now"),
    path("<int:pk>/", run_detail, name="run"),
]
