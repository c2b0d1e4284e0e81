"""Payment terms between businesses: due dates, legal caps and late-payment penalties.

Code de commerce L441-10 (PAY-02): payment is due at most 60 days after the invoice date, or
45 days "fin de mois" when the contract says so. Late payment costs penalties at the agreed
annual rate, pro rata of the days late over 365, plus a 40 € fixed recovery indemnity
(D441-5, business customers only).

>>> due_date(date(2026, 11, 28), days=30)
datetime.date(2026, 12, 28)
>>> late_penalty(Decimal("1000.00"), annual_rate_percent=Decimal("12.15"), days_late=30)
Decimal('9.99')
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

MAX_DAYS = 60
MAX_DAYS_END_OF_MONTH = 45
RECOVERY_INDEMNITY_EUR = Decimal("40.00")

# DOMAIN.md: penalties accrue "rate × days late × amount / 365", leap years included.
_DAYS_PER_YEAR = 365
_CENT = Decimal("0.01")


def _end_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_date(issue_date: date, *, days: int, end_of_month: bool = False) -> date:
    """Due date of an invoice under "N jours" or "N jours fin de mois" terms.

    "Fin de mois" is computed as *issue date + N days, then the end of that month*, one of
    the two conventions the DGCCRF accepts (the other, end of month then + N days, gives an
    earlier or equal date). LEGAL-FR lists the choice as [VERIFY] (PAY-02).

    >>> due_date(date(2026, 1, 31), days=45, end_of_month=True)
    datetime.date(2026, 3, 31)
    >>> due_date(date(2026, 1, 10), days=0)
    datetime.date(2026, 1, 10)
    """
    if days < 0:
        raise ValueError(f"payment terms: days must not be negative: {days}")
    due = issue_date + timedelta(days=days)
    return _end_of_month(due) if end_of_month else due


def check_terms(days: int, *, end_of_month: bool) -> None:
    """Refuse payment terms beyond the L441-10 caps.

    Periodic (recapitulative) invoices have a tighter cap of 45 days from issue, which the
    caller applies with ``end_of_month=False`` and its own limit.

    >>> check_terms(60, end_of_month=False)
    >>> check_terms(60, end_of_month=True)
    Traceback (most recent call last):
    ...
    ValueError: payment terms: at most 45 days end of month (L441-10): 60
    """
    if days < 0:
        raise ValueError(f"payment terms: days must not be negative: {days}")
    if end_of_month and days > MAX_DAYS_END_OF_MONTH:
        raise ValueError(
            f"payment terms: at most {MAX_DAYS_END_OF_MONTH} days end of month (L441-10): {days}"
        )
    if not end_of_month and days > MAX_DAYS:
        raise ValueError(f"payment terms: at most {MAX_DAYS} days (L441-10): {days}")


def late_penalty(amount_due: Decimal, *, annual_rate_percent: Decimal, days_late: int) -> Decimal:
    """Late-payment penalty: round(amount × rate / 100 × days / 365, 2), half-up.

    >>> late_penalty(Decimal("1000"), annual_rate_percent=Decimal("10"), days_late=0)
    Decimal('0.00')
    """
    if not amount_due.is_finite() or amount_due < 0:
        raise ValueError(f"amount due must not be negative: {amount_due}")
    if not annual_rate_percent.is_finite() or annual_rate_percent < 0:
        raise ValueError(f"penalty rate must not be negative: {annual_rate_percent}")
    if days_late <= 0:
        return Decimal("0.00")
    # One division, in a wide context, then one rounding: no intermediate rounding error.
    with localcontext(prec=60):
        exact = amount_due * annual_rate_percent * days_late / (100 * _DAYS_PER_YEAR)
    return exact.quantize(_CENT, rounding=ROUND_HALF_UP)
