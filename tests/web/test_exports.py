"""Export pages: invoices and payments CSV, the sales journal, errors and refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.exports import FEC_HEADER
from facturier.billing.services import customer_update, invoice_issue, payment_record
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _body(response):
    return b"".join(response.streaming_content).decode("utf-8")


def test_page(accountant_client):
    response = accountant_client.get(reverse("web:exports"))
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("export_invoices", "export_payments", "export_journal"):
        assert reverse(f"web:{name}") in page


def test_invoices_csv_with_the_list_filters(owner_client, make_draft):
    issued = invoice_issue(make_draft(), actor=SYS)
    make_draft()
    response = owner_client.get(reverse("web:export_invoices"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="factures-20261128.csv"' in response["Content-Disposition"]
    text = _body(response)
    assert text.startswith("\ufeff")  # Excel reads the accents right
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 3 and rows[1][0] == issued.number and rows[1][12] == "120,00"
    only_drafts = _body(owner_client.get(reverse("web:export_invoices"), {"status": "draft"}))
    assert issued.number not in only_drafts and len(only_drafts.strip().splitlines()) == 2
    iso = _body(owner_client.get(reverse("web:export_invoices"), {"style": "iso"}))
    assert not iso.startswith("\ufeff") and "2026-11-28" in iso and "120.00" in iso


def test_payments_csv(owner_client, customer):
    payment_record(customer=customer, amount=D("42.00"), received_on=date(2026, 11, 3),
                   method="transfer", reference="VIR", actor=SYS)  # fmt: skip
    text = _body(owner_client.get(reverse("web:export_payments"), {"start": "2026-11-01"}))
    assert "03/11/2026" in text and "42,00" in text
    empty = _body(owner_client.get(reverse("web:export_payments"), {"start": "2026-12-01"}))
    assert len(empty.strip().splitlines()) == 1


def test_journal(owner_client, make_draft, company):
    invoice = invoice_issue(make_draft(), actor=SYS)
    response = owner_client.get(
        reverse("web:export_journal"), {"start": "2026-11-01", "end": "2026-11-30",
                                        "separator": "tab"},
    )  # fmt: skip
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "732829320-journal-ventes-20261101-20261130.txt" in response["Content-Disposition"]
    lines = _body(response).split("\r\n")
    assert lines[0].split("\t") == FEC_HEADER
    entry = [line.split("\t") for line in lines[1:] if line]
    assert [row[4] for row in entry] == ["411000", "706000", "445710"]
    assert entry[0][8] == invoice.number and entry[0][11] == "120,00"


@pytest.mark.parametrize(
    ("params", "error_id"),
    [
        ({"start": "2026-11-01"}, "journal_end_error"),
        ({"start": "2026-12-01", "end": "2026-11-01"}, "journal_end_error"),
        ({"start": "someday", "end": "2026-11-01"}, "journal_start_error"),
    ],
)
def test_journal_needs_a_valid_period(owner_client, params, error_id):
    response = owner_client.get(reverse("web:export_journal"), params)
    assert response.status_code == 200
    assert error_id in response.content.decode()


def test_payments_bad_period(owner_client):
    response = owner_client.get(reverse("web:export_payments"), {"start": "2026-13-01"})
    assert response.status_code == 200 and 'id="payments_start_error"' in response.content.decode()


@pytest.mark.parametrize("role_client", ["sales", "readonly"], indirect=True)
def test_only_owner_and_accountant_export(role_client, make_draft):
    invoice_issue(make_draft(), actor=SYS)
    for name in ("exports", "export_invoices", "export_payments", "export_journal"):
        response = role_client.get(reverse(f"web:{name}"), {"start": "2026-11-01",
                                                             "end": "2026-11-30"})  # fmt: skip
        assert response.status_code == 403, name
    page = role_client.get(reverse("web:invoices")).content.decode()
    assert reverse("web:export_invoices") not in page


def test_page_in_french(owner_client):
    response = owner_client.get(reverse("web:exports"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200 and '<html lang="fr">' in response.content.decode()


def test_no_cell_of_any_download_runs_as_a_formula(owner_client, customer, make_draft):
    """A customer named like a formula, a payment reference and a subscription name: every
    file the pages download writes them as text (a leading quote); amounts stay numbers."""
    formula = '=HYPERLINK("http://evil.example","x")'
    customer_update(customer, legal_name=formula)
    invoice_issue(make_draft(), actor=SYS)
    payment_record(customer=customer, amount=D("12.50"), received_on=date(2026, 11, 3),
                   method="transfer", reference="@SUM(A1)", actor=SYS)  # fmt: skip
    subscription_create(
        customer=customer, name="+Abonnement", actor=SYS, frequency_unit="month",
        anchor=date(2026, 12, 1), lines=[SubscriptionLineData(description="x", unit_price=D(10))],
    )  # fmt: skip
    downloads = {
        "export_invoices": {},
        "export_payments": {},
        "export_journal": {"start": "2026-11-01", "end": "2026-11-30", "separator": "pipe"},
        "forecast_csv": {"months": "1"},
    }
    for name, params in downloads.items():
        text = _body(owner_client.get(reverse(f"web:{name}"), params)).lstrip("\ufeff")
        separator = "|" if name == "export_journal" else ";"
        cells = [cell for row in csv.reader(io.StringIO(text), delimiter=separator) for cell in row]
        assert f"'{formula}" in cells, name
        assert formula not in cells, name
        assert not [c for c in cells if c and c[0] in "=+-@" and not c[1:2].isdigit()], name
    payments = _body(owner_client.get(reverse("web:export_payments"))).lstrip("\ufeff")
    assert ";'@SUM(A1);EUR;12,50;" in payments
    forecast = _body(owner_client.get(reverse("web:forecast_csv"), {"months": "1"}))
    assert ";'+Abonnement;" in forecast and ";10,00;2,00;12,00;" in forecast
