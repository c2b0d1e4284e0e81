"""Issuing: mandatory mentions, numbering, dates, snapshots, refusals that change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from facturier.billing.models import Invoice, NumberingSeries, SeriesCounter
from facturier.billing.services import (
    LineData,
    MissingMentions,
    NotAllowed,
    company_update,
    customer_update,
    invoice_delete_draft,
    invoice_issue,
    invoices_issue,
    series_update,
)
from facturier.billing.services.errors import InvalidInput
from tests.actors import SYS


def test_issue_numbers_dates_and_freezes(make_draft, company, customer):
    with time_machine.travel(datetime(2026, 11, 28, 10, tzinfo=UTC), tick=False):
        inv = invoice_issue(make_draft(), actor=SYS)
    assert inv.number == "F2026-00001"
    assert inv.sequence == 1
    assert inv.issue_date == date(2026, 11, 28)
    assert inv.due_date == date(2026, 12, 28)  # the company's 30 days
    assert inv.seller["siren"] == "732829320"
    assert inv.buyer["legal_name"] == "Boulangerie Martin"
    assert (inv.total_net, inv.total_vat, inv.total_gross) == (
        Decimal("100.00"),
        Decimal("20.00"),
        Decimal("120.00"),
    )
    assert len(inv.content_hash) == 64


def test_issue_date_is_the_company_today_not_utc(make_draft):
    # 23:30 UTC on 28 Nov is already 29 Nov in Paris.
    with time_machine.travel(datetime(2026, 11, 28, 23, 30, tzinfo=UTC), tick=False):
        inv = invoice_issue(make_draft(), actor=SYS)
    assert inv.issue_date == date(2026, 11, 29)


def test_snapshot_does_not_follow_later_edits(make_draft, customer):
    inv = invoice_issue(make_draft(), actor=SYS)
    customer_update(customer, legal_name="Nouveau Nom")
    inv.refresh_from_db()
    assert inv.buyer["legal_name"] == "Boulangerie Martin"


def test_issuing_twice_is_harmless(make_draft):
    draft = make_draft()
    first = invoice_issue(draft, actor=SYS)
    again = invoice_issue(Invoice.objects.get(pk=draft.pk), actor=SYS)
    assert again.number == first.number
    assert SeriesCounter.objects.get().last_value == 1


def test_deleted_drafts_leave_no_gap(make_draft):
    drafts = [make_draft() for _ in range(3)]
    invoice_delete_draft(drafts[1], actor=SYS)
    numbers = [invoice_issue(d, actor=SYS).number for d in (drafts[0], drafts[2])]
    assert numbers == ["F2026-00001", "F2026-00002"]


def test_missing_mention_refused_and_nothing_changes(make_draft, customer):
    # A French business customer without SIREN (INV-06): issuing is refused.
    Customer = type(customer)
    Customer.objects.filter(pk=customer.pk).update(siren="")
    draft = make_draft()
    with pytest.raises(MissingMentions) as err:
        invoice_issue(draft, actor=SYS)
    assert err.value.codes == ["buyer.siren"]
    assert "SIREN" in str(err.value)
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.issue_date, draft.seller) == (
        "draft",
        None,
        None,
        None,
    )
    assert not SeriesCounter.objects.filter(last_value__gt=0).exists()
    # Once fixed, the draft takes number 1: nothing was consumed.
    customer_update(customer, siren="443061841")
    assert invoice_issue(draft, actor=SYS).number.endswith("00001")


def test_company_missing_vat_number_names_it(make_draft, company):
    type(company).objects.filter(pk=company.pk).update(vat_number="", rcs_city="")
    with pytest.raises(MissingMentions) as err:
        invoice_issue(make_draft(), actor=SYS)
    assert err.value.codes == ["seller.rcs_city", "seller.vat_number"]


def test_consumer_needs_no_siren(make_draft, consumer):
    inv = invoice_issue(make_draft(customer=consumer), actor=SYS)
    assert inv.is_issued


def test_batch_refuses_one_and_issues_the_others(make_draft, consumer, customer):
    bad = make_draft()
    type(customer).objects.filter(pk=customer.pk).update(siren="")
    good = [make_draft(customer=consumer) for _ in range(3)]
    result = invoices_issue([bad.pk, *(g.pk for g in good)], actor=SYS)
    assert [i.sequence for i in result.issued] == [1, 2, 3]
    assert set(result.refused) == {bad.pk}


def test_yearly_reset(make_draft):
    with time_machine.travel(datetime(2026, 12, 31, 12, tzinfo=UTC), tick=False):
        assert invoice_issue(make_draft(), actor=SYS).number == "F2026-00001"
        assert invoice_issue(make_draft(), actor=SYS).number == "F2026-00002"
    with time_machine.travel(datetime(2027, 1, 1, 12, tzinfo=UTC), tick=False):
        assert invoice_issue(make_draft(), actor=SYS).number == "F2027-00001"


def test_series_never_goes_back_in_time(make_draft):
    with time_machine.travel(datetime(2026, 11, 28, 12, tzinfo=UTC), tick=False):
        invoice_issue(make_draft(), actor=SYS)
    draft = make_draft()
    with (
        time_machine.travel(datetime(2026, 11, 27, 12, tzinfo=UTC), tick=False),
        pytest.raises(NotAllowed, match="horloge"),  # French by default
    ):
        invoice_issue(draft, actor=SYS)
    draft.refresh_from_db()
    assert draft.number is None


def test_customer_terms_override(make_draft, customer):
    customer_update(customer, payment_terms_days=45)
    inv = invoice_issue(make_draft(), actor=SYS)
    assert (inv.due_date - inv.issue_date).days == 45


def test_franchise_company_charges_no_vat(make_draft, company):
    company_update(company, actor=SYS, vat_regime="franchise", vat_number="")
    inv = invoice_issue(make_draft(), actor=SYS)
    line = inv.lines.get()
    assert (line.vat_category, line.vat_rate, inv.total_vat) == ("E", 0, 0)
    assert "293 B" in line.exemption_reason


def test_series_pattern_validated_and_frozen(company, make_draft):
    series = NumberingSeries.objects.get(company=company, doc_type="invoice")
    with pytest.raises(InvalidInput, match="pattern"):
        series_update(series, pattern="F {SEQ}", yearly_reset=False)
    series_update(series, pattern="FA-{YY}{MM}-{SEQ:04}", yearly_reset=True)
    with time_machine.travel(datetime(2026, 11, 28, 12, tzinfo=UTC), tick=False):
        assert invoice_issue(make_draft(), actor=SYS).number == "FA-2611-0001"
    with pytest.raises(InvalidInput, match="already issued"):
        series_update(series, pattern="X{SEQ}", yearly_reset=False)


def test_bad_line_input_names_the_field(make_draft):
    with pytest.raises(InvalidInput) as err:
        make_draft([LineData(description="x", quantity=Decimal("1.23456"), unit_price=Decimal(1))])
    assert err.value.field == "lines[1]"
    with pytest.raises(InvalidInput) as err:
        make_draft([LineData(description=" ", unit_price=Decimal(1))])
    assert err.value.field == "lines[1].description"
    assert Invoice.objects.count() == 0
