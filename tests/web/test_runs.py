"""Billing runs: the ledger, one run's items with reasons, "run now" and its refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.models import BillingRun, Invoice, RunItem
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS
from tests.web._billing import other_customer, restrict_sales, stranger_client

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _sub(customer, name="Hébergement", **kwargs):
    return subscription_create(
        customer=customer, name=name, actor=SYS, frequency_unit="month",
        anchor=date(2026, 10, 1),
        lines=[SubscriptionLineData(description=name, quantity=D(1), unit_price=D(50))],
        **kwargs,
    )  # fmt: skip


def test_run_now_then_the_ledger(owner_client, customer, company):
    _sub(customer)
    _sub(customer, name="Revue", review_before_issue=True)
    response = owner_client.post(reverse("web:run_now"), follow=True)
    run = BillingRun.objects.get()
    assert response.redirect_chain[-1][0] == reverse("web:run", args=[run.pk])
    page = response.content.decode()
    assert "2 issued, 2 drafts" in page
    assert run.company_id == company.pk and run.worker == "web:olivia"
    assert Invoice.objects.filter(status="issued").count() == 2
    listing = owner_client.get(reverse("web:runs"))
    assert listing.context["rows"][0][1] == {
        "invoiced": 2, "drafted": 2, "skipped": 0, "failed": 0, "due": 4,
    }  # fmt: skip
    drafts = owner_client.get(reverse("web:run", args=[run.pk]), {"outcome": "drafted"})
    assert len(drafts.context["page_obj"]) == 2
    assert "Revue" in drafts.content.decode() and "Hébergement" not in drafts.content.decode()


def test_failures_show_their_reason(owner_client, customer, company):
    from facturier.billing.services.parties import company_update

    _sub(customer)
    company_update(company, actor=SYS, rcs_city="")
    owner_client.post(reverse("web:run_now"))
    run = BillingRun.objects.get()
    page = owner_client.get(reverse("web:run", args=[run.pk]), {"outcome": "failed"})
    assert "RCS" in page.content.decode()
    listing = owner_client.get(reverse("web:runs")).content.decode()
    assert "?outcome=failed" in listing


def test_global_runs_show_only_this_company(owner_client, customer, company):
    _sub(customer)
    billing_run()  # the worker's run over every company
    stranger = stranger_client()
    run = BillingRun.objects.get()
    response = stranger.get(reverse("web:run", args=[run.pk]))
    assert response.status_code == 200 and len(response.context["page_obj"]) == 0
    assert stranger.get(reverse("web:runs")).context["rows"][0][1]["due"] == 0
    assert owner_client.get(reverse("web:runs")).context["rows"][0][1]["due"] == 2


def test_another_company_run_is_not_found(customer, company):
    _sub(customer)
    billing_run(company=company)
    run = BillingRun.objects.get()
    assert stranger_client().get(reverse("web:run", args=[run.pk])).status_code == 404


@pytest.mark.parametrize("role_client", ["sales", "readonly"], indirect=True)
def test_run_now_refused_changes_nothing(role_client, customer):
    _sub(customer)
    assert role_client.get(reverse("web:runs")).status_code == 200
    assert reverse("web:run_now") not in role_client.get(reverse("web:runs")).content.decode()
    response = role_client.post(reverse("web:run_now"))
    assert response.status_code == 403
    assert not BillingRun.objects.exists() and not Invoice.objects.exists()


def test_run_now_is_a_post(owner_client):
    assert owner_client.get(reverse("web:run_now")).status_code == 405
    assert not BillingRun.objects.exists()


def test_sales_rep_sees_only_their_customers_items(sales_client, sales, customer, company):
    _sub(customer, name="Mine")
    _sub(other_customer(company), name="Theirs")
    billing_run(company=company)
    restrict_sales(company, own=customer, sales=sales)
    run = BillingRun.objects.get()
    page = sales_client.get(reverse("web:run", args=[run.pk])).content.decode()
    assert "Mine" in page and "Theirs" not in page
    assert RunItem.objects.count() == 4


def test_pages_in_french(owner_client, customer, company):
    _sub(customer)
    owner_client.post(reverse("web:run_now"))
    run = BillingRun.objects.get()
    for url in (reverse("web:runs"), reverse("web:run", args=[run.pk])):
        response = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200
        assert '<html lang="fr">' in response.content.decode()


def test_ledger_reasons_in_the_pages_language(owner_client, customer, company):
    sub = _sub(customer, review_before_issue=True)
    owner_client.post(reverse("web:run_now"))
    run = BillingRun.objects.get()
    for url in (reverse("web:run", args=[run.pk]), reverse("web:subscription", args=[sub.pk])):
        french = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        assert "relecture avant émission" in french and "review before issue" not in french
        assert "review before issue" in owner_client.get(url).content.decode()


def test_an_interrupted_run_says_so(owner_client, customer, company):
    """A run whose process died shows as interrupted (with what it committed), not running."""
    import subprocess

    _sub(customer)
    billing_run(company=company)
    child = subprocess.Popen(["true"])
    child.wait()  # a pid that is gone
    BillingRun.objects.update(status="running", finished_at=None, pid=child.pid, issued=0)
    running = owner_client.get(reverse("web:runs")).content.decode()  # the page closes none
    assert '<span class="badge warn">running</span>' in running
    billing_run(company=company)  # the next run closes it
    killed = BillingRun.objects.order_by("pk").first()
    assert (killed.status, killed.issued) == ("interrupted", 2)
    listing = owner_client.get(reverse("web:runs")).content.decode()
    assert listing.count('<span class="badge bad">interrupted</span>') == 1
    assert listing.count("badge warn") == 0
    detail = owner_client.get(reverse("web:run", args=[killed.pk]))
    page = detail.content.decode()
    assert "<dt>Status</dt><dd>interrupted</dd>" in page and "Last batch" in page
    french = owner_client.get(reverse("web:runs"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<span class="badge bad">interrompue</span>' in french
