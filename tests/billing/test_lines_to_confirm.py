"""Lines "to confirm": the billing run marks their placeholder quantity; the draft is not
issued with it unless someone gives the quantity or confirms it as it is."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import translation

from facturier.billing.models import AuditEvent, Invoice, SeriesCounter
from facturier.billing.services import NotAllowed, invoice_issue, invoice_update_draft
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.drafts import line_data_of
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    draft_confirm,
    subscription_create,
)
from tests.actors import SYS


@pytest.fixture(autouse=True)
def _english():
    """Messages asserted in English (the services speak the active language)."""
    with translation.override("en"):
        yield


@pytest.fixture
def draft(customer, company) -> Invoice:
    with time_machine.travel(datetime(2026, 11, 1, 9, tzinfo=UTC), tick=False):
        subscription_create(
            customer=customer, name="Maintenance", actor=SYS, frequency_unit="month",
            anchor=date(2026, 11, 1),
            lines=[SubscriptionLineData(description="Forfait", unit_price=D(100)),
                   SubscriptionLineData(description="Heures", quantity=D(0), unit_price=D(80),
                                        mode="to_confirm")],
        )  # fmt: skip
        billing_run(company=company)
    return Invoice.objects.get(status="draft")


def test_the_run_marks_the_placeholder_and_issuing_refuses_it(draft):
    assert list(draft.lines.values_list("position", "placeholder_quantity")) == [
        (1, False), (2, True),
    ]  # fmt: skip
    for issue in (lambda: invoice_issue(draft, actor=SYS), lambda: draft_confirm(draft, actor=SYS)):
        with pytest.raises(NotAllowed) as err:
            issue()
        assert err.value.field == "lines[2].quantity"
        assert "Line 2 (“Heures”) still has the quantity to confirm (0)" in err.value.message
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)
    assert not SeriesCounter.objects.filter(last_value__gt=0).exists()  # no number taken


def test_a_quantity_given_clears_the_placeholder(draft):
    lines = [line_data_of(x) for x in draft.lines.order_by("position")]
    lines[1] = replace(lines[1], quantity=D("4.5"), placeholder_quantity=False)
    invoice_update_draft(draft, lines=lines, actor=SYS)
    issued = draft_confirm(draft, actor=SYS)
    assert (issued.status, issued.total_net) == ("issued", D("460.00"))
    assert not AuditEvent.objects.filter(action="invoice.quantities_confirmed").exists()


def test_an_edit_that_keeps_the_quantity_keeps_the_placeholder(draft):
    lines = [line_data_of(x) for x in draft.lines.order_by("position")]
    invoice_update_draft(draft, lines=lines, actor=SYS, customer_po="PO-3")
    with pytest.raises(NotAllowed):
        invoice_issue(draft, actor=SYS)


def test_confirmed_as_is_is_issued_and_audited(draft):
    issued = draft_confirm(draft, actor=SYS, as_is=True)
    assert (issued.status, issued.total_net) == ("issued", D("100.00"))
    event = AuditEvent.objects.get(action="invoice.quantities_confirmed")
    assert event.data == {"number": issued.number, "lines": [2]}
    # The issued line keeps the flag: it says the placeholder was confirmed as it was.
    assert issued.lines.get(position=2).placeholder_quantity
