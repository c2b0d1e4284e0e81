"""Forecast arithmetic: the invoices to come, summed per month. Never numbered.

>>> from datetime import date
>>> items = [ForecastItem(date(2026, 12, 1), 1, "A", "Client", Decimal("10.00"), Decimal("2.00")),
...          ForecastItem(date(2026, 12, 15), 2, "B", "Client", Decimal("5.00"), Decimal("1.00")),
...          ForecastItem(date(2027, 1, 1), 1, "A", "Client", Decimal("10.00"), Decimal("2.00"))]
>>> [(m.month, m.count, m.gross) for m in monthly_totals(items)]
[('2026-12', 2, Decimal('18.00')), ('2027-01', 1, Decimal('12.00'))]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class ForecastItem:
    on: date  # the day the invoice will be issued
    subscription_id: int
    subscription: str
    customer: str
    net: Decimal
    vat: Decimal
    period_start: date | None = None
    period_end: date | None = None
    estimated: bool = False  # metered lines estimated from recent usage

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class MonthTotal:
    month: str  # "2026-12"
    count: int
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def monthly_totals(items: Iterable[ForecastItem]) -> list[MonthTotal]:
    """Totals per calendar month of issue, in month order."""
    months: dict[str, list[ForecastItem]] = {}
    for item in items:
        months.setdefault(f"{item.on:%Y-%m}", []).append(item)
    return [
        MonthTotal(
            month=month,
            count=len(group),
            net=sum((i.net for i in group), Decimal(0)),
            vat=sum((i.vat for i in group), Decimal(0)),
        )
        for month, group in sorted(months.items())
    ]


def add_months_first(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month.

    >>> add_months_first(date(2026, 11, 28), 6)
    datetime.date(2027, 5, 1)
    """
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
