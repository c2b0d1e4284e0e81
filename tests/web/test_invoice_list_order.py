"""The invoice list's order and search, as the index-only queries read them: drafts on top,
then newest first; a search matches a fragment of the number, of the customer's name (any
case) or the customer's exact code, and never another company's invoices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.services import invoice_issue
from tests.actors import SYS
from tests.web._billing import other_customer, stranger_client

NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


def _ids(client, **params):
    response = client.get(reverse("web:invoices"), params)
    assert response.status_code == 200
    return [row.pk for row in response.context["page_obj"]], response.context["totals"]


def test_drafts_first_then_newest_issue_date_then_newest_id(owner_client, make_draft):
    with time_machine.travel(datetime(2026, 11, 1, 10, tzinfo=UTC), tick=False):
        a, b, c, d = (make_draft() for _ in range(4))  # ids in that order
    # Issued in the opposite order: the newest issue date has the smallest id.
    for invoice, day in ((d, 1), (c, 2), (b, 2), (a, 3)):
        with time_machine.travel(datetime(2026, 11, day, 10, tzinfo=UTC), tick=False):
            invoice_issue(invoice, actor=SYS)
    with time_machine.travel(NOW, tick=False):
        drafts = [make_draft(), make_draft()]
        ids, totals = _ids(owner_client)
    # Drafts (newest first), then by issue date, newest first; on the same day, newest id.
    assert ids == [drafts[1].pk, drafts[0].pk, a.pk, c.pk, b.pk, d.pk]
    assert totals["count"] == 6


@pytest.fixture
def searchable(make_draft, company, customer):
    with time_machine.travel(NOW, tick=False):
        mine = invoice_issue(make_draft(), actor=SYS)  # Boulangerie Martin
        theirs = invoice_issue(make_draft(customer=other_customer(company)), actor=SYS)
        draft = make_draft()
    return mine, theirs, draft


def test_search_by_a_fragment_of_the_customer_name_in_any_case(owner_client, searchable):
    mine, theirs, draft = searchable
    ids, totals = _ids(owner_client, q="ulangERIE")
    assert ids == [draft.pk, mine.pk]
    assert totals["count"] == 2 and totals["gross"] == mine.total_gross + draft.total_gross
    assert _ids(owner_client, q="Autre")[0] == [theirs.pk]


def test_search_by_a_fragment_of_the_number_or_the_exact_customer_code(
    owner_client, searchable, customer
):
    mine, theirs, _draft = searchable
    fragment = mine.number[-4:]  # e.g. "0001": a fragment, not only a prefix
    assert mine.pk in _ids(owner_client, q=fragment)[0]
    assert _ids(owner_client, q=mine.number.lower())[0] == [mine.pk]
    by_code, totals = _ids(owner_client, q=customer.code.lower())
    assert mine.pk in by_code and theirs.pk not in by_code
    assert _ids(owner_client, q=customer.code[:-1])[0] == []  # a code matches exactly
    nothing, totals = _ids(owner_client, q="zzz-nothing")
    assert nothing == [] and totals["count"] == 0 and totals["gross"] == 0


def test_search_never_reaches_another_company(searchable):
    stranger = stranger_client()
    ids, totals = _ids(stranger, q="Boulangerie")
    assert ids == [] and totals["count"] == 0
