"""The dunning schedule: which reminder an unpaid invoice gets on a given day (DOMAIN "Dunning").

A company's policy is a list of levels, each sent `days` after the due date (negative: before
it). Level numbers and days rise together, and the formal notice (mise en demeure), if any, is
the last level: it states the late penalties accrued to date and, to a business, the 40 €
recovery indemnity (L441-10 and D441-5 C. com.; never to a consumer, LEGAL-FR PAY-05).

On a given day an invoice gets **at most one** reminder: the highest level whose day has come
and that is above every level already sent. Lower levels whose day also came but that were
never sent (the pass did not run for a while, the invoice was disputed or the customer paused)
are *superseded*: the customer gets the reminder that fits the invoice's age, not three letters
in one morning, and a superseded level is never sent later (a level is only ever sent above the
highest one sent). A level before the due date (a courtesy note) is pointless once the invoice
is due, so it is never sent on or after the due date.

>>> policy = DEFAULT_POLICY
>>> plan = reminder_plan(policy, due_date=date(2026, 11, 1), today=date(2026, 11, 8), sent=())
>>> plan.send.level, [lv.level for lv in plan.superseded]
(2, [])
>>> plan = reminder_plan(policy, due_date=date(2026, 11, 1), today=date(2026, 11, 20), sent=())
>>> plan.send.level, [lv.level for lv in plan.superseded]
(3, [2])
>>> reminder_plan(policy, due_date=date(2026, 11, 1), today=date(2026, 11, 20), sent={3}).send
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from facturier.core.terms import RECOVERY_INDEMNITY_EUR, late_penalty

# Bounds of a level's offset: a courtesy note at most two months before the due date, the
# last reminder at most two years after it (beyond that it is a collection agency's matter).
MIN_DAYS = -60
MAX_DAYS = 730
MAX_LEVELS = 9


class PolicyError(ValueError):
    """A policy that cannot be used; the message says which level and why."""


@dataclass(frozen=True)
class Level:
    """One level of a policy, as the schedule sees it."""

    level: int
    days: int
    enabled: bool = True
    formal_notice: bool = False


# DOMAIN "Dunning": courtesy note J-3 (off), reminder J+7, second reminder J+15, formal
# notice J+30.
DEFAULT_POLICY: tuple[Level, ...] = (
    Level(1, -3, enabled=False),
    Level(2, 7),
    Level(3, 15),
    Level(4, 30, formal_notice=True),
)


def check_policy(levels: Sequence[Level]) -> None:
    """Refuse a policy the schedule cannot follow, with a message naming the level at fault.

    >>> check_policy([Level(1, 7), Level(2, 7)])
    Traceback (most recent call last):
    ...
    facturier.core.dunning.PolicyError: level 2: its day (J+7) must come after level 1's (J+7)
    >>> check_policy([Level(1, 30, formal_notice=True), Level(2, 45)])
    Traceback (most recent call last):
    ...
    facturier.core.dunning.PolicyError: level 1: the formal notice must be the last level
    """
    if not levels:
        raise PolicyError("a policy needs at least one level (disable levels to stop reminders)")
    if len(levels) > MAX_LEVELS:
        raise PolicyError(f"at most {MAX_LEVELS} levels")
    ordered = sorted(levels, key=lambda lv: lv.level)
    numbers = [lv.level for lv in ordered]
    if numbers != list(range(1, len(levels) + 1)):
        raise PolicyError(f"levels must be numbered 1 to {len(levels)}, got {numbers}")
    for before, after in itertools.pairwise(ordered):
        if after.days <= before.days:
            raise PolicyError(
                f"level {after.level}: its day ({day_label(after.days)}) must come after "
                f"level {before.level}'s ({day_label(before.days)})"
            )
    for lv in ordered:
        if not MIN_DAYS <= lv.days <= MAX_DAYS:
            raise PolicyError(
                f"level {lv.level}: days must be between {MIN_DAYS} and {MAX_DAYS}: {lv.days}"
            )
        if lv.formal_notice and lv is not ordered[-1]:
            raise PolicyError(f"level {lv.level}: the formal notice must be the last level")
        if lv.formal_notice and lv.days <= 0:
            raise PolicyError(
                f"level {lv.level}: a formal notice is sent after the due date (days ≥ 1)"
            )


def day_label(days: int) -> str:
    """How the offset of a level reads in French practice.

    >>> day_label(-3), day_label(0), day_label(30)
    ('J-3', 'J', 'J+30')
    """
    return "J" if days == 0 else f"J{days:+d}"


# Why an invoice gets no reminder at all, checked in this order.
NOT_ISSUED = "not_issued"
CREDIT_NOTE = "credit_note"
PAID = "paid"
DISPUTED = "disputed"
PAUSED = "paused"
DEBIT_IN_COLLECTION = "debit_in_collection"
NO_DUE_DATE = "no_due_date"
# A level whose day came but that a higher level replaces (see the module docstring).
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class InvoiceState:
    """What stops reminders, read from the invoice, its customer and its payments."""

    issued: bool
    credit_note: bool
    balance: Decimal
    disputed: bool = False
    customer_paused: bool = False
    debit_in_collection: bool = False


def stop_reason(state: InvoiceState) -> str | None:
    """Why no reminder may go out for this invoice today, or None.

    >>> stop_reason(InvoiceState(issued=True, credit_note=False, balance=Decimal("0.00")))
    'paid'
    >>> stop_reason(InvoiceState(issued=True, credit_note=False, balance=Decimal(1)))
    """
    if not state.issued:
        return NOT_ISSUED
    if state.credit_note:
        return CREDIT_NOTE
    if state.balance <= 0:
        return PAID
    if state.disputed:
        return DISPUTED
    if state.customer_paused:
        return PAUSED
    if state.debit_in_collection:
        return DEBIT_IN_COLLECTION
    return None


@dataclass(frozen=True)
class Plan:
    """The level to send today (if any) and the lower due levels it supersedes."""

    send: Level | None
    superseded: tuple[Level, ...] = field(default=())


def reminder_plan(
    levels: Sequence[Level], *, due_date: date, today: date, sent: Collection[int]
) -> Plan:
    """The reminder an invoice due on `due_date` gets on `today`, given the levels already
    sent automatically (their numbers). Stop conditions are the caller's (`stop_reason`)."""
    above = max(sent, default=0)
    due = [
        lv
        for lv in sorted(levels, key=lambda lv: lv.level)
        if lv.enabled
        and lv.level > above
        and send_date(lv, due_date) <= today
        and not (lv.days < 0 and today >= due_date)
    ]
    if not due:
        return Plan(None)
    return Plan(due[-1], tuple(due[:-1]))


def send_date(level: Level, due_date: date) -> date:
    """The day a level is due for an invoice.

    >>> send_date(Level(2, 7), date(2026, 12, 28))
    datetime.date(2027, 1, 4)
    """
    return date.fromordinal(due_date.toordinal() + level.days)


def next_send_date(
    levels: Sequence[Level], *, due_date: date, today: date, sent: Collection[int]
) -> date | None:
    """The first day after `today` on which a level would be sent, if nothing stops it.

    >>> next_send_date(DEFAULT_POLICY, due_date=date(2026, 11, 1), today=date(2026, 11, 8),
    ...                sent={2})
    datetime.date(2026, 11, 16)
    """
    above = max(sent, default=0)
    dates = [
        send_date(lv, due_date)
        for lv in levels
        if lv.enabled and lv.level > above and send_date(lv, due_date) > today
    ]
    return min(dates, default=None)


def days_late(due_date: date, today: date) -> int:
    """Whole days past the due date, 0 before or on it.

    >>> days_late(date(2026, 11, 1), date(2026, 12, 1))
    30
    >>> days_late(date(2026, 11, 1), date(2026, 10, 30))
    0
    """
    return max(0, (today - due_date).days)


@dataclass(frozen=True)
class Claim:
    """What a formal notice states: the penalties accrued to date and the indemnity."""

    penalty: Decimal
    indemnity: Decimal


def formal_notice_claim(
    amount_due: Decimal, *, annual_rate_percent: Decimal, days_late: int, business: bool
) -> Claim:
    """Penalties = rate × days late × amount due / 365 (rounded once, half-up, to the cent);
    the 40 € indemnity once per invoice, to a business only (D441-5; PAY-05).

    >>> formal_notice_claim(Decimal("1200.00"), annual_rate_percent=Decimal("12.15"),
    ...                     days_late=30, business=True)
    Claim(penalty=Decimal('11.98'), indemnity=Decimal('40.00'))
    >>> formal_notice_claim(Decimal("1200.00"), annual_rate_percent=Decimal("12.15"),
    ...                     days_late=30, business=False).indemnity
    Decimal('0.00')
    """
    penalty = late_penalty(amount_due, annual_rate_percent=annual_rate_percent, days_late=days_late)
    indemnity = RECOVERY_INDEMNITY_EUR if business and days_late > 0 else Decimal("0.00")
    return Claim(penalty, indemnity)
