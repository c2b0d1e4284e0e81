"""Tests of facturier.core.dunning: the policy rules, the daily plan, stop reasons and the
formal notice's penalty and indemnity (DOMAIN "Dunning", LEGAL-FR PAY-03/04/05)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facturier.core.dunning import (
    DEFAULT_POLICY,
    SUPERSEDED,
    InvoiceState,
    Level,
    PolicyError,
    check_policy,
    days_late,
    formal_notice_claim,
    next_send_date,
    reminder_plan,
    stop_reason,
)

DUE = date(2026, 11, 2)
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
AMOUNTS = st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2)
RATES = st.decimals(min_value=0, max_value=100, places=2)


def sent_level(today: date, sent: set[int] = frozenset()) -> int | None:  # type: ignore[assignment]
    plan = reminder_plan(DEFAULT_POLICY, due_date=DUE, today=today, sent=sent)
    return plan.send.level if plan.send else None


# -- the policy -----------------------------------------------------------------------------


def test_the_default_policy_is_valid_and_as_domain_says() -> None:
    check_policy(DEFAULT_POLICY)
    assert [(lv.level, lv.days, lv.enabled, lv.formal_notice) for lv in DEFAULT_POLICY] == [
        (1, -3, False, False),
        (2, 7, True, False),
        (3, 15, True, False),
        (4, 30, True, True),
    ]


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([], "a policy needs at least one level"),
        ([Level(1, 7), Level(3, 15)], "levels must be numbered 1 to 2, got [1, 3]"),
        ([Level(1, 7), Level(1, 15)], "levels must be numbered 1 to 2, got [1, 1]"),
        ([Level(1, 15), Level(2, 7)], "level 2: its day (J+7) must come after level 1's (J+15)"),
        ([Level(1, 7), Level(2, 7)], "level 2: its day (J+7) must come after level 1's (J+7)"),
        ([Level(1, -61)], "level 1: days must be between -60 and 730: -61"),
        ([Level(1, 731)], "level 1: days must be between -60 and 730: 731"),
        (
            [Level(1, 7, formal_notice=True), Level(2, 15, formal_notice=True)],
            "level 1: the formal notice must be the last level",
        ),
        ([Level(1, 0, formal_notice=True)], "level 1: a formal notice is sent after the due date"),
        ([Level(i, i) for i in range(1, 11)], "at most 9 levels"),
    ],
)
def test_bad_policies_are_refused_with_the_reason(levels: list[Level], message: str) -> None:
    with pytest.raises(PolicyError) as error:
        check_policy(levels)
    assert str(error.value).startswith(message)


def test_levels_given_out_of_order_are_checked_in_level_order() -> None:
    check_policy([Level(2, 15), Level(1, 7)])


# -- the daily plan -------------------------------------------------------------------------


def test_each_level_on_its_day_with_the_courtesy_note_off() -> None:
    assert sent_level(DUE - timedelta(days=3)) is None  # level 1 is off by default
    assert sent_level(DUE + timedelta(days=6)) is None
    assert sent_level(DUE + timedelta(days=7)) == 2
    assert sent_level(DUE + timedelta(days=15), {2}) == 3
    assert sent_level(DUE + timedelta(days=16), {2, 3}) is None
    assert sent_level(DUE + timedelta(days=30), {2, 3}) == 4
    assert sent_level(DUE + timedelta(days=400), {2, 3, 4}) is None


def test_a_late_pass_sends_the_highest_level_and_supersedes_the_others() -> None:
    plan = reminder_plan(DEFAULT_POLICY, due_date=DUE, today=DUE + timedelta(days=45), sent=())
    assert plan.send == Level(4, 30, formal_notice=True)
    assert [lv.level for lv in plan.superseded] == [2, 3]
    assert SUPERSEDED == "superseded"
    # The next day nothing is left: superseded levels are never sent afterwards.
    later = reminder_plan(DEFAULT_POLICY, due_date=DUE, today=DUE + timedelta(days=46), sent={4})
    assert later.send is None and later.superseded == ()


def test_a_level_below_one_already_sent_is_never_sent() -> None:
    # Level 3 went out (e.g. the policy was changed since); level 2 never comes after it.
    assert sent_level(DUE + timedelta(days=20), {3}) is None


def test_the_courtesy_note_only_before_the_due_date() -> None:
    policy = [Level(1, -3), Level(2, 7), Level(3, 30, formal_notice=True)]
    assert reminder_plan(policy, due_date=DUE, today=DUE - timedelta(days=4), sent=()).send is None
    assert reminder_plan(policy, due_date=DUE, today=DUE - timedelta(days=3), sent=()).send == (
        Level(1, -3)
    )
    # An invoice issued with its due date already past (or a pass that missed J-3 until the
    # due date): no "due soon" note for an invoice that is due.
    for late in (0, 1, 6):
        plan = reminder_plan(policy, due_date=DUE, today=DUE + timedelta(days=late), sent=())
        assert plan.send is None and plan.superseded == ()


def test_disabled_levels_are_neither_sent_nor_superseded() -> None:
    policy = [Level(1, 7), Level(2, 15, enabled=False), Level(3, 30, formal_notice=True)]
    plan = reminder_plan(policy, due_date=DUE, today=DUE + timedelta(days=20), sent={1})
    assert plan.send is None
    plan = reminder_plan(policy, due_date=DUE, today=DUE + timedelta(days=30), sent={1})
    assert plan.send == policy[2] and plan.superseded == ()


def test_next_send_date() -> None:
    assert next_send_date(DEFAULT_POLICY, due_date=DUE, today=DUE, sent=()) == date(2026, 11, 9)
    assert next_send_date(
        DEFAULT_POLICY, due_date=DUE, today=DUE + timedelta(days=30), sent={2, 3, 4}
    ) is None  # fmt: skip


@given(
    due=DATES,
    offsets=st.lists(st.integers(-60, 730), min_size=1, max_size=9, unique=True),
    formal=st.booleans(),
    enabled=st.lists(st.booleans(), min_size=9, max_size=9),
    pass_days=st.sets(st.integers(-70, 800), max_size=60),
)
def test_any_pass_schedule_sends_each_level_at_most_once_and_in_order(
    due: date, offsets: list[int], formal: bool, enabled: list[bool], pass_days: set[int]
) -> None:
    """Whatever days the pass runs, levels go out at most once, rising, each on or after its
    day, at most one a day; on a daily schedule every enabled level goes out on its day."""
    offsets.sort()
    formal = formal and offsets[-1] > 0
    policy = [
        Level(i, d, enabled=enabled[i - 1], formal_notice=formal and i == len(offsets))
        for i, d in enumerate(offsets, start=1)
    ]
    check_policy(policy)
    sent: dict[int, date] = {}
    for offset in sorted(pass_days):
        today = due + timedelta(days=offset)
        plan = reminder_plan(policy, due_date=due, today=today, sent=set(sent))
        if plan.send is not None:
            assert plan.send.level not in sent
            assert all(plan.send.level > lv for lv in sent)
            assert today >= due + timedelta(days=plan.send.days)
            assert all(lv.level < plan.send.level for lv in plan.superseded)
            sent[plan.send.level] = today
    assert list(sent) == sorted(sent)

    daily: dict[int, date] = {}
    for offset in range(-70, 801):
        today = due + timedelta(days=offset)
        plan = reminder_plan(policy, due_date=due, today=today, sent=set(daily))
        assert plan.superseded == ()
        if plan.send is not None:
            daily[plan.send.level] = today
    assert daily == {lv.level: due + timedelta(days=lv.days) for lv in policy if lv.enabled}


# -- what stops reminders -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"issued": False}, "not_issued"),
        ({"credit_note": True}, "credit_note"),
        ({"balance": Decimal("0.00")}, "paid"),
        ({"balance": Decimal("-5.00")}, "paid"),
        ({"disputed": True}, "disputed"),
        ({"customer_paused": True}, "paused"),
        ({"debit_in_collection": True}, "debit_in_collection"),
        ({"balance": Decimal(0), "disputed": True}, "paid"),
        ({"disputed": True, "customer_paused": True}, "disputed"),
    ],
)
def test_stop_reasons(changes: dict[str, object], reason: str | None) -> None:
    base: dict[str, object] = {"issued": True, "credit_note": False, "balance": Decimal("0.01")}
    assert stop_reason(InvoiceState(**{**base, **changes})) == reason  # type: ignore[arg-type]


# -- penalties and indemnity ----------------------------------------------------------------


def exact_penalty(amount: Decimal, rate: Decimal, days: int) -> Decimal:
    """The same formula with fractions, rounded half-up to the cent by hand."""
    value = Fraction(amount) * Fraction(rate) * days / 36500
    cents = value * 100
    whole = int(cents)
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return (Decimal(whole) / 100).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("amount", "rate", "days", "penalty"),
    [
        (Decimal("1200.00"), Decimal("12.15"), 30, Decimal("11.98")),  # 11.9835…
        (Decimal("1000.00"), Decimal("10.00"), 365, Decimal("100.00")),
        (Decimal("1000.00"), Decimal("10.00"), 366, Decimal("100.27")),  # 365-day year
        (Decimal("73.00"), Decimal("10.00"), 25, Decimal("0.50")),  # exactly half a cent up
        (Decimal("0.01"), Decimal("12.15"), 30, Decimal("0.00")),
        (Decimal("1500.00"), Decimal("12.15"), 0, Decimal("0.00")),
    ],
)
def test_penalty_examples(amount: Decimal, rate: Decimal, days: int, penalty: Decimal) -> None:
    claim = formal_notice_claim(amount, annual_rate_percent=rate, days_late=days, business=True)
    assert claim.penalty == penalty


@given(amount=AMOUNTS, rate=RATES, days=st.integers(0, 3650))
def test_penalty_is_the_exact_formula_rounded_once(
    amount: Decimal, rate: Decimal, days: int
) -> None:
    claim = formal_notice_claim(amount, annual_rate_percent=rate, days_late=days, business=False)
    assert claim.penalty == exact_penalty(amount, rate, days)
    assert claim.penalty == claim.penalty.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert claim.indemnity == Decimal("0.00")


@given(amount=AMOUNTS, rate=RATES, days=st.integers(0, 3650))
def test_penalty_grows_with_the_days(amount: Decimal, rate: Decimal, days: int) -> None:
    def penalty(d: int) -> Decimal:
        return formal_notice_claim(
            amount, annual_rate_percent=rate, days_late=d, business=True
        ).penalty

    assert Decimal(0) <= penalty(days) <= penalty(days + 1)


@given(amount=AMOUNTS, rate=RATES, days=st.integers(1, 3650))
def test_the_indemnity_is_40_euros_for_a_business_only(
    amount: Decimal, rate: Decimal, days: int
) -> None:
    business = formal_notice_claim(amount, annual_rate_percent=rate, days_late=days, business=True)
    consumer = formal_notice_claim(amount, annual_rate_percent=rate, days_late=days, business=False)
    assert business.indemnity == Decimal("40.00")
    assert consumer.indemnity == Decimal("0.00")
    assert business.penalty == consumer.penalty


def test_no_indemnity_before_the_invoice_is_late() -> None:
    claim = formal_notice_claim(
        Decimal(100), annual_rate_percent=Decimal(10), days_late=0, business=True
    )
    assert claim.indemnity == Decimal("0.00")


@given(due=DATES, offset=st.integers(-400, 400))
def test_days_late(due: date, offset: int) -> None:
    assert days_late(due, due + timedelta(days=offset)) == max(0, offset)
