"""Input the database columns cannot hold, or the law does not allow, is refused by the
services before anything is written: amounts, quantities, texts, periods and totals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from facturier.billing.models import (
    AuditEvent,
    BilledPeriod,
    Invoice,
    InvoiceLine,
    OutboxMessage,
    Payment,
    PaymentAllocation,
    SeriesCounter,
    SubscriptionLine,
)
from facturier.billing.models.subscription import ScheduledChange, Subscription, UsageRecord
from facturier.billing.services import (
    InvalidInput,
    LineData,
    NotAllowed,
    credit_note_create,
    customer_update,
    invoice_issue,
    invoice_update_draft,
    payment_record,
)
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.drafts import line_data_of
from facturier.billing.services.limits import (
    AMOUNT,
    QUANTITY,
    UNIT_PRICE,
    check_decimal,
    check_size,
    check_text,
)
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    draft_confirm,
    subscription_change,
    subscription_create,
    usage_record,
)
from tests.actors import SYS

D = Decimal
TODAY = date(2026, 11, 28)
BIG = D("99999999999999999999")


@pytest.fixture(autouse=True)
def _today():
    # The messages are checked in English (the French ones come from the catalog).
    with (
        time_machine.travel(datetime(2026, 11, 28, 10, tzinfo=UTC), tick=False),
        translation.override("en"),
    ):
        yield


def line(**kw):
    return LineData(**{"description": "Service", "quantity": D(1), "unit_price": D(100), **kw})


def _nothing_written():
    return (Invoice.objects.count(), InvoiceLine.objects.count()) == (0, 0)


# --- the checker -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "column", "bounds"),
    [
        (InvoiceLine, "quantity", QUANTITY),
        (InvoiceLine, "unit_price", UNIT_PRICE),
        (InvoiceLine, "discount_amount", AMOUNT),
        (InvoiceLine, "net_amount", AMOUNT),
        (Invoice, "total_net", AMOUNT),
        (Invoice, "total_vat", AMOUNT),
        (Invoice, "total_gross", AMOUNT),
        (Payment, "amount", AMOUNT),
        (PaymentAllocation, "amount", AMOUNT),
        (SubscriptionLine, "quantity", QUANTITY),
        (SubscriptionLine, "unit_price", UNIT_PRICE),
        (ScheduledChange, "quantity", QUANTITY),
        (ScheduledChange, "unit_price", UNIT_PRICE),
        (UsageRecord, "quantity", QUANTITY),
    ],
)
def test_bounds_are_the_columns(model, column, bounds):
    field = model._meta.get_field(column)
    assert (field.max_digits, field.decimal_places) == (bounds["max_digits"], bounds["places"])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (D("NaN"), "not a number"),
        (D("Infinity"), "not a number"),
        (D("-Infinity"), "not a number"),
        (D("1e999"), "too large: at most 12 digits"),
        (D("1000000000000"), "too large: at most 12 digits"),
        (D("-1000000000000"), "too large: at most 12 digits"),
        (D("1.23456"), "at most 4 decimals"),
        (D("-1"), "must be at least 0"),
        ("abc", "not a number: abc"),
    ],
)
def test_check_decimal_refuses(value, message):
    with pytest.raises(InvalidInput, match=message) as err:
        check_decimal(value, "lines[2].quantity", **QUANTITY, minimum=D(0))
    assert err.value.field == "lines[2].quantity"


def test_check_decimal_accepts_what_the_column_holds():
    assert check_decimal(D("999999999999.9999"), "q", **QUANTITY) == D("999999999999.9999")
    assert check_decimal("1.50000000", "q", **QUANTITY) == D("1.5")  # trailing zeros
    assert check_size(D("1.23456"), "q", **QUANTITY) == D("1.23456")  # decimals not looked at
    assert check_text("x" * 50, "customer_po", max_length=50) == "x" * 50
    with pytest.raises(InvalidInput, match="at most 50 characters"):
        check_text("x" * 51, "customer_po", max_length=50)


# --- 1. amounts too large for the columns ------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"quantity": D("2.5"), "unit_price": D("999999999999")}, "lines[1]"),
        ({"unit_price": BIG}, "lines[1].unit_price"),
        ({"quantity": BIG}, "lines[1].quantity"),
        ({"quantity": D("1e999")}, "lines[1].quantity"),
        ({"quantity": D("Infinity")}, "lines[1].quantity"),
        ({"unit_price": D("NaN")}, "lines[1].unit_price"),
        ({"unit_price": D("-Infinity")}, "lines[1].unit_price"),
        ({"discount_amount": D("1e12")}, "lines[1].discount_amount"),
    ],
)
def test_a_line_too_large_is_refused(make_draft, kw, field):
    with pytest.raises(InvalidInput) as err:
        make_draft([line(**kw)])
    assert err.value.field == field
    assert _nothing_written()


def test_a_total_too_large_is_refused(make_draft):
    # Each line fits its 12 integer digits; the total with VAT does not.
    big = line(unit_price=D("900000000000"))
    with pytest.raises(InvalidInput, match="total is too large") as err:
        make_draft([big])
    assert err.value.field == "lines"
    with pytest.raises(InvalidInput, match="total is too large"):
        make_draft([line(unit_price=D("500000000000"))] * 2)
    assert _nothing_written()
    inv = make_draft([line(unit_price=D("800000000000"))])  # 960 000 000 000 incl. VAT
    inv.refresh_from_db()
    assert inv.total_gross == D("960000000000.00")


def test_editing_a_draft_with_a_huge_price_changes_nothing(make_draft):
    draft = make_draft()
    lines = [line_data_of(x) for x in draft.lines.all()]
    with pytest.raises(InvalidInput) as err:
        invoice_update_draft(draft, actor=SYS, lines=[replace(lines[0], unit_price=BIG)])
    assert err.value.field == "lines[1].unit_price"
    draft.refresh_from_db()
    assert draft.total_gross == D("120.00")
    assert list(draft.lines.values_list("unit_price", flat=True)) == [D("100")]


# --- 2. an invoice with a negative total ---------------------------------------------------


def test_an_invoice_with_a_negative_total_is_not_issued(make_draft):
    draft = make_draft([line(quantity=D(-1), unit_price=D("1142.89"))])
    events = AuditEvent.objects.count()
    with pytest.raises(NotAllowed, match="credit note") as err:
        invoice_issue(draft, actor=SYS)
    assert "(-€1,371.47)" in err.value.message
    with translation.override("fr"), pytest.raises(NotAllowed, match="établissez un avoir") as fr:
        invoice_issue(draft, actor=SYS)
    assert "(-1\xa0371,47\xa0€)" in fr.value.message
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)
    assert not SeriesCounter.objects.filter(last_value__gt=0).exists()
    assert AuditEvent.objects.count() == events
    assert not OutboxMessage.objects.exists()


def test_a_discount_line_and_a_zero_total_are_issued(make_draft):
    discounted = make_draft([line(), line(description="Remise", quantity=D(-1), unit_price=D(30))])
    assert invoice_issue(discounted, actor=SYS).total_gross == D("84.00")
    # A free period: issued, and nothing left to pay.
    free = invoice_issue(make_draft([line(unit_price=D(0))]), actor=SYS)
    assert (free.number, free.total_gross, free.settlement) == ("F2026-00002", 0, "paid")


# --- 3. a line's own period ------------------------------------------------------------------


def test_a_line_period_that_ends_before_it_starts_is_refused(make_draft):
    with pytest.raises(InvalidInput) as err:
        make_draft([line(period_start=date(2026, 11, 30), period_end=date(2026, 11, 1))])
    assert err.value.field == "lines[1].period_end"
    assert _nothing_written()
    same_day = make_draft([line(period_start=date(2026, 11, 1), period_end=date(2026, 11, 1))])
    assert same_day.lines.get().period_end == date(2026, 11, 1)


# --- 4. and 5. texts ---------------------------------------------------------------------------


def test_an_emptied_description_is_refused_unless_a_product_names_the_line(make_draft, product):
    draft = make_draft([line(), line(description="", product=product, unit_price=None)])
    assert draft.lines.get(position=2).description == "Hébergement"
    lines = [line_data_of(x) for x in draft.lines.order_by("position")]
    with pytest.raises(InvalidInput, match="a line needs a description") as err:
        invoice_update_draft(draft, actor=SYS, lines=[replace(lines[0], description=""), lines[1]])
    assert err.value.field == "lines[1].description"
    assert draft.lines.get(position=1).description == "Service"


@pytest.mark.parametrize(
    ("kw", "lines", "field"),
    [
        ({}, [line(description="x" * 501)], "lines[1].description"),
        ({"customer_po": "P" * 51}, [line()], "customer_po"),
    ],
)
def test_texts_too_long_are_refused(make_draft, kw, lines, field):
    with pytest.raises(InvalidInput, match="at most") as err:
        make_draft(lines, **kw)
    assert err.value.field == field
    assert _nothing_written()
    made = make_draft([line(description="x" * 500)], customer_po="P" * 50)
    assert len(made.lines.get().description) == 500


# --- 6. issuing a recurring draft marks its period invoiced ------------------------------------


def test_invoice_issue_marks_a_waiting_period_invoiced(customer):
    subscription_create(
        customer=customer, name="Audit", actor=SYS, frequency_unit="month",
        anchor=date(2026, 11, 1), review_before_issue=True,
        lines=[SubscriptionLineData(description="Audit", unit_price=D(500))],
    )  # fmt: skip
    assert billing_run().drafted == 1
    period = BilledPeriod.objects.get()
    assert period.outcome == "drafted"
    issued = invoice_issue(period.invoice, actor=SYS)  # as `facturier invoices issue` does
    period.refresh_from_db()
    assert (period.outcome, period.invoice_id) == ("invoiced", issued.pk)
    # Confirming again (draft_confirm issues through the same path) is harmless.
    assert draft_confirm(issued, actor=SYS).number == issued.number
    period.refresh_from_db()
    assert period.outcome == "invoiced"


# --- 7. payments -----------------------------------------------------------------------------


@pytest.fixture
def issued(make_draft):
    return invoice_issue(make_draft(), actor=SYS)  # 120,00 €


def _pay(customer, amount, allocations=None, **kw):
    fields = {"received_on": TODAY, "method": "transfer", **kw}
    return payment_record(
        customer=customer, amount=amount, allocations=allocations, actor=SYS, **fields
    )


def _no_payment():
    return (Payment.objects.count(), PaymentAllocation.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("amount", "allocation", "field"),
    [
        (BIG, None, "amount"),
        (D("1e999"), None, "amount"),
        (D("Infinity"), None, "amount"),
        (D("NaN"), None, "amount"),
        (D("1000000000000.00"), None, "amount"),
        (D(100), BIG, "allocations[1]"),
    ],
)
def test_a_payment_too_large_is_refused(customer, issued, amount, allocation, field):
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as err:
        _pay(customer, amount, None if allocation is None else [(issued, allocation)])
    assert err.value.field == field
    assert _no_payment()
    assert AuditEvent.objects.count() == events
    issued.refresh_from_db()
    assert issued.settlement == "open"


def test_the_largest_payment_is_recorded_and_read_back(customer):
    payment = _pay(customer, D("999999999999.99"))
    assert Payment.objects.get(pk=payment.pk).amount == D("999999999999.99")


def test_a_payment_dated_in_the_future_is_refused(customer, issued):
    with pytest.raises(InvalidInput, match="future") as err:
        _pay(customer, D(10), received_on=date(2026, 11, 29))
    assert err.value.field == "received_on"
    assert _no_payment()
    assert _pay(customer, D(10), received_on=TODAY).received_on == TODAY


def test_a_reference_too_long_is_refused(customer):
    with pytest.raises(InvalidInput, match="at most 140") as err:
        _pay(customer, D(10), reference="R" * 141)
    assert err.value.field == "reference"
    assert _no_payment()
    assert _pay(customer, D(10), reference=f" {'R' * 140} ").reference == "R" * 140


def test_amounts_in_payment_refusals_are_formatted(customer, issued, make_draft):
    other = invoice_issue(make_draft(), actor=SYS)
    with translation.override("fr"), pytest.raises(InvalidInput) as err:
        _pay(customer, D(100), [(issued, D("9.88")), (other, D(100))])
    assert err.value.message == "les affectations (109,88\xa0€) dépassent le montant (100,00\xa0€)"
    with pytest.raises(NotAllowed) as err:
        _pay(customer, D(200), [(issued, D("120.01"))])
    assert err.value.message == f"€120.01 is more than {issued.number}'s balance (€120.00)"
    assert _no_payment()


def test_paying_a_paid_invoice_names_it(customer, issued):
    _pay(customer, D(120), [(issued, D(120))])
    issued.refresh_from_db()
    # `payments record --invoice F2026-00001` asks to settle its balance: 0 once paid.
    with pytest.raises(NotAllowed) as err:
        _pay(customer, D(50), [(issued, issued.balance)])
    assert err.value.message == f"{issued.number} is already paid."
    assert err.value.field == "allocations[1]"
    assert Payment.objects.count() == 1


# --- subscriptions: lines, changes, usage ----------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"unit_price": BIG}, "lines[1].unit_price"), ({"quantity": BIG}, "lines[1].quantity"),
     ({"quantity": D("-1")}, "lines[1].quantity"), ({"quantity": D("NaN")}, "lines[1].quantity")],
)  # fmt: skip
def test_subscription_lines_the_columns_cannot_hold(customer, kw, field):
    data = SubscriptionLineData(**{"description": "Audit", "unit_price": D(500), **kw})
    with pytest.raises(InvalidInput) as refused:
        subscription_create(customer=customer, name="Audit", actor=SYS, frequency_unit="month",
                            anchor=date(2026, 12, 1), lines=[data])  # fmt: skip
    assert refused.value.field == field
    assert not Subscription.objects.exists()
    fine = replace(data, **{k: D(1) for k in kw})
    with pytest.raises(InvalidInput) as named:
        subscription_create(customer=customer, name="x" * 201, actor=SYS, frequency_unit="month",
                            anchor=date(2026, 12, 1), lines=[fine])  # fmt: skip
    assert named.value.field == "name"


def test_changes_and_usage_the_columns_cannot_hold(customer):
    sub = subscription_create(
        customer=customer, name="Cloud", actor=SYS, frequency_unit="month",
        anchor=date(2026, 12, 1),
        lines=[SubscriptionLineData(description="Go", unit_price=D(1), mode="metered")],
    )  # fmt: skip
    metered = sub.lines.get()
    for kw, field in [({"quantity": BIG}, "quantity"), ({"quantity": D(-2)}, "quantity"),
                      ({"unit_price": D("Infinity")}, "unit_price")]:  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            subscription_change(metered, effective=date(2026, 12, 1), actor=SYS, **kw)
        assert refused.value.field == field
    assert not ScheduledChange.objects.exists()
    for kw, field in [({"quantity": BIG}, "quantity"), ({"quantity": D(-5)}, "quantity"),
                      ({"idempotency_key": "k" * 101}, "idempotency_key")]:  # fmt: skip
        args = {"occurred_on": TODAY, "quantity": D(3), "idempotency_key": "evt-1", **kw}
        with pytest.raises(InvalidInput) as refused:
            usage_record(metered, **args)
        assert refused.value.field == field
    assert not UsageRecord.objects.exists()


# --- dates a person may give ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"anchor": date(9999, 12, 31)}, "anchor", "31/12/9999 is too far ahead"),
        ({"anchor": date(9999, 12, 31), "frequency_unit": "semi_monthly"}, "anchor", "too far"),
        ({"anchor": date(2036, 11, 29)}, "anchor", "give a date until 28/11/2036"),
        ({"start": date(1, 1, 1)}, "start", "01/01/0001 is too far in the past"),
        ({"frequency_unit": "year", "interval": 11}, "interval", "at most 10 years"),
        ({"frequency_unit": "month", "interval": 366}, "interval", "at most 10 years"),
    ],
)
def test_subscription_dates_outside_what_anyone_may_give(customer, kw, field, message):
    """31/12/9999 used to overflow in the recurrence (a server error in the preview)."""
    from facturier.billing.preview import subscription_preview

    lines = [SubscriptionLineData(description="Audit", unit_price=D(500))]
    args = {"frequency_unit": "month", "anchor": date(2026, 12, 1), "lines": lines, **kw}
    with pytest.raises(InvalidInput, match=message) as refused:
        subscription_create(customer=customer, name="Audit", actor=SYS, **args)
    assert refused.value.field == field
    with pytest.raises(InvalidInput, match=message) as previewed:
        subscription_preview(customer=customer, today=TODAY, **args)
    assert previewed.value.field == field
    assert not Subscription.objects.exists()
    ten_years = {"frequency_unit": "year", "interval": 10, "anchor": date(2036, 11, 28)}
    assert subscription_create(customer=customer, name="Audit", actor=SYS, lines=args["lines"],
                               **ten_years).pk  # fmt: skip


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (date(1, 1, 1), "01/01/0001 is too far in the past: give a date from 28/11/2016 on"),
        (date(1999, 12, 31), "too far in the past"),
        (date(2016, 11, 27), "too far in the past"),  # more than ten years ago
    ],
)
def test_a_payment_dated_long_ago_is_refused(customer, issued, day, message):
    with pytest.raises(InvalidInput, match=message) as err:
        _pay(customer, D(10), received_on=day)
    assert err.value.field == "received_on"
    assert _no_payment()
    issued.refresh_from_db()
    assert issued.settlement == "open"
    assert _pay(customer, D(10), received_on=date(2016, 11, 28)).received_on == date(2016, 11, 28)


@pytest.mark.parametrize(
    ("kw", "lines", "field", "message"),
    [
        ({"period_start": date(1, 1, 1), "period_end": date(9999, 12, 31)}, [line()],
         "period_start", "01/01/0001 is too far in the past"),
        ({"period_start": date(2026, 11, 1), "period_end": date(9999, 12, 31)}, [line()],
         "period_end", "31/12/9999 is too far ahead"),
        ({}, [line(period_start=date(1, 1, 1), period_end=date(9999, 12, 31))],
         "lines[1].period_start", "too far in the past"),
        ({}, [line(), line(period_start=date(2017, 1, 1), period_end=date(2028, 12, 31))],
         "lines[2].period_end", "a period lasts at most 10 years"),
        ({"period_start": date(2026, 12, 1), "period_end": date(2026, 11, 1)}, [line()],
         "period_end", "the period ends before it starts"),
    ],
)  # fmt: skip
def test_an_implausible_service_period_is_refused(make_draft, kw, lines, field, message):
    with pytest.raises(InvalidInput, match=message) as err:
        make_draft(lines, **kw)
    assert err.value.field == field
    assert _nothing_written()


def test_editing_a_draft_with_an_implausible_period_changes_nothing(make_draft):
    draft = make_draft(period_start=date(2026, 11, 1), period_end=date(2026, 11, 30))
    lines = [line_data_of(x) for x in draft.lines.all()]
    bad = replace(lines[0], period_start=date(1, 1, 1), period_end=date(2026, 11, 30))
    with pytest.raises(InvalidInput) as err:
        invoice_update_draft(draft, lines=[bad], actor=SYS)
    assert err.value.field == "lines[1].period_start"
    with pytest.raises(InvalidInput) as err:
        invoice_update_draft(draft, lines=lines, actor=SYS, period_end=date(9999, 12, 31))
    assert err.value.field == "period_end"
    draft.refresh_from_db()
    assert (draft.period_start, draft.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert draft.lines.get().period_start is None
    # Ten years of service, within the window, is a period.
    long = make_draft([line(period_start=date(2020, 1, 1), period_end=date(2029, 12, 31))])
    assert long.lines.get().period_end == date(2029, 12, 31)


# --- reverse charge (autoliquidation) --------------------------------------------------------


def test_reverse_charge_needs_a_business_customer_with_a_vat_number(
    company, customer, consumer, make_draft
):
    """LEGAL-FR VATM-03: the customer liable for the VAT is a business identified by its VAT
    number, printed on the invoice. A consumer cannot be; a business needs its number."""
    reverse = line(vat_code="FR-0-AE")
    with pytest.raises(InvalidInput, match="business customers only: Marie Dupont is a") as err:
        make_draft([line(), reverse], customer=consumer)
    assert err.value.field == "lines[2].vat_code"
    assert customer.vat_number == ""
    with pytest.raises(InvalidInput, match="needs the customer's VAT number") as err:
        make_draft([reverse])
    assert err.value.field == "lines[1].vat_code"
    assert _nothing_written()
    with pytest.raises(InvalidInput, match="business customers only") as err:
        subscription_create(
            customer=consumer, name="Support", actor=SYS, frequency_unit="month",
            anchor=date(2026, 12, 1),
            lines=[SubscriptionLineData(description="Support", unit_price=D(500),
                                        vat_code="FR-0-AE")],
        )  # fmt: skip
    assert err.value.field == "lines[1].vat_code"
    assert not Subscription.objects.exists()
    # With its VAT number the business customer is invoiced under reverse charge…
    customer_update(customer, vat_number="FR64443061841")
    invoice = invoice_issue(make_draft([reverse]), actor=SYS)
    assert (invoice.total_vat, invoice.lines.get().vat_category) == (D(0), "AE")
    # …and the invoice can always be credited, even once the number is gone.
    customer_update(customer, vat_number="")
    note = credit_note_create(invoice, actor=SYS)
    assert note.total_gross == invoice.total_gross
