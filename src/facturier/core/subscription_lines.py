"""The lines of a recurring invoice: what each period bills, with changes and proration.

Pure: the billing run and the forecast feed it the subscription's lines, its scheduled
changes and the usage of the period, and get invoice lines back.

Proration is by days: an amount covering ``d`` days of a period of ``n`` days is billed at
``d / n`` of its price. The prorated unit price keeps 6 decimals (EN 16931 allows them), the
quantity stays what the customer recognises (3 seats stay 3 seats).

>>> line = PlanLine(key=1, description="Seats", quantity=Decimal(3), unit_price=Decimal(10))
>>> p = Period(index=0, start=date(2026, 4, 1), end=date(2026, 4, 30))
>>> up = Change(key=1, effective=date(2026, 4, 21), quantity=Decimal(5))
>>> [(x.quantity, x.unit_price, x.note) for x in period_lines([line], [up], p)]
[(Decimal('3'), Decimal('6.666667'), '20/30 d'), (Decimal('5'), Decimal('3.333333'), '10/30 d')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from facturier.core.recurrence import Period

_PRICE = Decimal("0.000001")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class PlanLine:
    key: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    mode: Literal["fixed", "metered", "to_confirm"] = "fixed"
    # The days the line is billed, inclusive: None is from the first period / with no end.
    starts_on: date | None = None
    ends_on: date | None = None

    def window(self, start: date, end: date) -> tuple[date, date] | None:
        """The part of ``[start, end]`` the line is billed for, None if none.

        >>> line = PlanLine(1, "x", Decimal(1), Decimal(1), ends_on=date(2026, 4, 10))
        >>> line.window(date(2026, 4, 1), date(2026, 4, 30))
        (datetime.date(2026, 4, 1), datetime.date(2026, 4, 10))
        >>> line.window(date(2026, 5, 1), date(2026, 5, 31)) is None
        True
        """
        lo = max(start, self.starts_on) if self.starts_on else start
        hi = min(end, self.ends_on) if self.ends_on else end
        return (lo, hi) if lo <= hi else None


@dataclass(frozen=True)
class Change:
    """A new quantity and/or unit price for line ``key`` from ``effective`` on."""

    key: int
    effective: date
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    change_id: int = 0


@dataclass(frozen=True)
class DraftLine:
    key: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    period_start: date
    period_end: date
    note: str = ""  # "20/30 d" for a prorated segment; the caller words it
    adjusts: int | None = None  # the change this line settles, for an adjustment line


def values_at(line: PlanLine, changes: Sequence[Change], day: date) -> tuple[Decimal, Decimal]:
    """The line's (quantity, unit price) in force on ``day``."""
    quantity, price = line.quantity, line.unit_price
    for change in sorted(changes, key=lambda c: (c.effective, c.change_id)):
        if change.key != line.key or change.effective > day:
            continue
        quantity = change.quantity if change.quantity is not None else quantity
        price = change.unit_price if change.unit_price is not None else price
    return quantity, price


def _base_days(period: Period) -> int:
    # A stub or cut period is prorated against the full period it is part of.
    return period.full_days if period.prorated and period.full_days else period.days


def _scaled(price: Decimal, days: int, base: int) -> Decimal:
    if days == base:
        return price
    return (price * days / base).quantize(_PRICE, rounding=ROUND_HALF_UP)


def period_lines(
    lines: Sequence[PlanLine],
    changes: Sequence[Change],
    period: Period,
    *,
    usage: Mapping[int, Decimal] | None = None,
    metered_period: Period | None = None,
) -> list[DraftLine]:
    """Lines for one period: fixed and to-confirm lines split at each change inside the
    period and prorated by days; metered lines for ``metered_period`` with the usage given.

    A line added or removed inside the period (``starts_on``, ``ends_on``) is billed for its
    days only, prorated; a metered line while its metered period overlaps its days, and
    whenever usage of it is still unbilled (late usage is never lost)."""
    base = _base_days(period)
    out: list[DraftLine] = []
    for line in lines:
        if line.mode == "metered":
            quantity = (usage or {}).get(line.key, Decimal(0))
            if metered_period is not None and (
                quantity or line.window(metered_period.start, metered_period.end)
            ):
                _q, price = values_at(line, changes, metered_period.start)
                out.append(
                    DraftLine(line.key, line.description, quantity, price,
                              metered_period.start, metered_period.end)
                )  # fmt: skip
            continue
        billed = line.window(period.start, period.end)
        if billed is None:
            continue
        lo, hi = billed
        inside = (c for c in changes if c.key == line.key)
        cuts = sorted({c.effective for c in inside if lo < c.effective <= hi})
        starts = [lo, *cuts]
        for seg_start, next_start in zip(starts, [*cuts, hi + ONE_DAY], strict=True):
            seg_end = next_start - ONE_DAY
            days = (seg_end - seg_start).days + 1
            quantity, price = values_at(line, changes, seg_start)
            note = "" if days == base else f"{days}/{base} d"
            out.append(
                DraftLine(line.key, line.description, quantity, _scaled(price, days, base),
                          seg_start, seg_end, note)
            )  # fmt: skip
    return out


def adjustment_lines(
    lines: Sequence[PlanLine], changes: Sequence[Change], billed: Sequence[Period]
) -> list[DraftLine]:
    """Lines settling changes that took effect inside periods already billed.

    ``changes`` are the changes not yet reflected on any invoice (made after the period they
    fall in was billed). For a change effective inside billed period Q, the difference between
    the new and the old amount for the days from the change to Q's end is charged (or
    credited, quantity −1).

    >>> line = PlanLine(key=1, description="Seats", quantity=Decimal(3), unit_price=Decimal(10))
    >>> q = Period(index=0, start=date(2026, 4, 1), end=date(2026, 4, 30))
    >>> up = Change(key=1, effective=date(2026, 4, 21), quantity=Decimal(5), change_id=7)
    >>> [(x.quantity, x.unit_price, x.adjusts) for x in adjustment_lines([line], [up], [q])]
    [(Decimal('1'), Decimal('6.666667'), 7)]
    """
    by_key = {line.key: line for line in lines}
    out = []
    for change in changes:
        line = by_key.get(change.key)
        period = next((q for q in billed if q.start <= change.effective <= q.end), None)
        if line is None or period is None or line.mode == "metered":
            continue
        served = line.window(change.effective, period.end)
        if served is None or served[0] != change.effective:
            continue  # the line is not billed on that day: the change moves no amount
        before = [c for c in changes if c is not change and c.effective < change.effective]
        old_q, old_p = values_at(line, before, change.effective)
        new_q, new_p = values_at(line, [*before, change], change.effective)
        days = (served[1] - change.effective).days + 1
        diff = _scaled(new_q * new_p - old_q * old_p, days, _base_days(period))
        if diff == 0:
            continue
        out.append(
            DraftLine(
                key=line.key,
                description=line.description,
                quantity=Decimal(1) if diff > 0 else Decimal(-1),
                unit_price=abs(diff).quantize(_PRICE, rounding=ROUND_HALF_UP),
                period_start=change.effective,
                period_end=served[1],
                note=f"{days}/{_base_days(period)} d",
                adjusts=change.change_id,
            )
        )
    return out
