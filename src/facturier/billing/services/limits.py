"""What the database columns can hold, checked by the services before anything is written.

A DecimalField stores at most `max_digits` digits, `places` of them after the point: SQLite
stores a larger value anyway and every later read fails with decimal.InvalidOperation, and
PostgreSQL refuses the write with a DataError. Text columns have a maximum length the same
way. So each service checks its input here first and refuses with InvalidInput naming the
field, and a refusal changes nothing. Texts are checked for control and invisible characters,
and dates against the window a person may give, the same way. The messages are translated:
examples are in tests/billing/test_input_limits.py, not here.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypedDict

from django.utils.translation import gettext as _

from facturier.billing.services.errors import InvalidInput
from facturier.core.money import format_date
from facturier.core.recurrence import add_months

__all__ = [
    "AMOUNT",
    "EARLIEST_DATE",
    "MAX_PERIOD_YEARS",
    "QUANTITY",
    "UNIT_PRICE",
    "YEARS_AHEAD",
    "YEARS_BACK",
    "Digits",
    "check_date",
    "check_decimal",
    "check_period",
    "check_period_length",
    "check_size",
    "check_text",
    "check_visible",
    "fits",
]


class Digits(TypedDict):
    """A DecimalField's bounds, to pass as `**QUANTITY` to the checks below."""

    max_digits: int
    places: int


# The columns' bounds (tests/billing/test_input_limits.py checks them against the models).
QUANTITY = Digits(max_digits=16, places=4)  # InvoiceLine, SubscriptionLine, UsageRecord …
UNIT_PRICE = Digits(max_digits=18, places=6)  # InvoiceLine, SubscriptionLine, ScheduledChange
AMOUNT = Digits(max_digits=14, places=2)  # every money column: totals, nets, payments


def _places(value: Decimal) -> int:
    """Decimals the value needs (trailing zeros do not count): 1.2300 → 2."""
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def fits(value: Decimal, *, max_digits: int, places: int) -> bool:
    """Whether a value is finite and its integer part fits the column (its decimals are not
    looked at): 999 999 999 999.99 fits an amount, -1 000 000 000 000 does not."""
    return value.is_finite() and abs(value) < Decimal(10) ** (max_digits - places)


def check_size(value: object, field: str, *, max_digits: int, places: int) -> Decimal:
    """The value as a Decimal, refused when it is not a finite number or too large for the
    column. Its decimals are left to the caller's own rule (see `check_decimal`)."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InvalidInput(_("not a number: %(value)s") % {"value": value}, field=field) from exc
    if not number.is_finite():
        raise InvalidInput(_("not a number: %(value)s") % {"value": value}, field=field)
    if not fits(number, max_digits=max_digits, places=places):
        raise InvalidInput(
            _("too large: at most %(digits)s digits before the decimal point")
            % {"digits": max_digits - places},
            field=field,
        )
    return number


def check_decimal(
    value: object,
    field: str,
    *,
    max_digits: int,
    places: int,
    minimum: Decimal | None = None,
) -> Decimal:
    """The value as a Decimal that the column stores exactly, or InvalidInput naming `field`:
    not a finite number (NaN, Infinity), too large, below `minimum`, or too many decimals
    (trailing zeros do not count: 1.50000 has one decimal).
    """
    number = check_size(value, field, max_digits=max_digits, places=places)
    if minimum is not None and number < minimum:
        raise InvalidInput(_("must be at least %(minimum)s") % {"minimum": minimum}, field=field)
    if _places(number) > places:
        raise InvalidInput(_("at most %(places)s decimals") % {"places": places}, field=field)
    return number


# --- texts -------------------------------------------------------------------------------------
# Characters refused in every text a person gives, because a name, an address, a description
# or a subject ends up in an email header, a file name, a PDF or a spreadsheet: C0 and C1
# controls (a CR LF in a customer's name injected a "Bcc:" header into the emails that name
# it), bidirectional overrides and isolates (which make "fdp.exe" read "exe.pdf"),
# zero-width characters and the byte-order mark (two names that look the same), the Unicode
# line and paragraph separators, and lone surrogates. A multi-line text (notes, an email's
# body, a product's description) keeps its line breaks (LF; a CR LF becomes LF) and tabs.
_REFUSED = frozenset(
    [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
    + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u2028", "\u2029"]
)  # fmt: skip
_MULTILINE_ALLOWED = frozenset("\n\t")
# Letters that print as nothing (Hangul fillers, the braille blank): a name of them is blank.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def _refused_character(value: str, *, multiline: bool) -> str | None:
    for char in value:
        if (char in _REFUSED or "\ud800" <= char <= "\udfff") and not (
            multiline and char in _MULTILINE_ALLOWED
        ):
            return char
    return None


def check_text(value: str, field: str, *, max_length: int | None, multiline: bool = False) -> str:
    """The text (a multi-line one with LF line ends), or InvalidInput naming `field` when
    the column cannot hold it or it holds a control or invisible character (above).

    `max_length` None: the column has no limit of its own."""
    if multiline:
        value = value.replace("\r\n", "\n")
    char = _refused_character(value, multiline=multiline)
    if char is not None:
        raise InvalidInput(
            _("contains a control or invisible character (U+%(code)04X): remove it")
            % {"code": ord(char)},
            field=field,
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(
            _("at most %(max)s characters (%(given)s given)")
            % {"max": max_length, "given": len(value)},
            field=field,
        )
    return value


def _visible(char: str) -> bool:
    return unicodedata.category(char) not in _INVISIBLE_CATEGORIES and char not in _BLANK_LETTERS


def check_visible(value: str, field: str) -> str:
    """`value`, or InvalidInput when it is not empty yet shows nothing: only spaces or
    characters that print as nothing (a name that is blank on the invoice)."""
    if value and not any(_visible(char) for char in value):
        raise InvalidInput(
            _("shows nothing: it is only spaces or invisible characters"), field=field
        )
    return value


# --- dates -------------------------------------------------------------------------------------
# A date a person gives must fall in a window around the company's today: none before 2000,
# nor more than ten years back (accounting records are kept ten years, art. L123-22 C. com.),
# nor more than ten years ahead. Outside it, a date is a typing mistake (01/01/0001 for
# 01/01/2026, 31/12/9999), and date arithmetic near the ends of the calendar fails. Tighter
# rules stay where they are (a payment is never dated ahead; a billing run or a forecast is
# made at most a year ahead; a subscription starts at most a year back). docs/invoicing.md,
# "Input limits", lists them.
EARLIEST_DATE = date(2000, 1, 1)
YEARS_BACK = 10
YEARS_AHEAD = 10
# A service period (an invoice's, a line's, a subscription's) lasts at most this long.
MAX_PERIOD_YEARS = 10


def _years_from(day: date, years: int) -> date:
    """`day` moved by whole years (29 February becomes the 28th), within the calendar."""
    try:
        return add_months(day, 12 * years)
    except OverflowError:
        return date.max if years > 0 else date.min


def check_date(day: date, field: str, *, today: date, years_ahead: int = YEARS_AHEAD) -> date:
    """`day`, or InvalidInput naming `field` when it lies outside the window above (at most
    `years_ahead` years after `today`)."""
    earliest = max(EARLIEST_DATE, _years_from(today, -YEARS_BACK))
    if day < earliest:
        raise InvalidInput(
            _("%(date)s is too far in the past: give a date from %(earliest)s on")
            % {"date": format_date(day), "earliest": format_date(earliest)},
            field=field,
        )
    latest = _years_from(today, years_ahead)
    if day > latest:
        raise InvalidInput(
            _("%(date)s is too far ahead: give a date until %(latest)s")
            % {"date": format_date(day), "latest": format_date(latest)},
            field=field,
        )
    return day


def check_period(
    start: date | None, end: date | None, field: str, *, today: date, end_field: str = ""
) -> None:
    """A service period `[start, end]`: each date within the window, the end not before the
    start, and at most MAX_PERIOD_YEARS long. `field` names the start, `end_field` the end
    (default: `field` as well)."""
    end_field = end_field or field
    if start is not None:
        check_date(start, field, today=today)
    if end is not None:
        check_date(end, end_field, today=today)
    if start is None or end is None:
        return
    if end < start:
        raise InvalidInput(_("the period ends before it starts"), field=end_field)
    check_period_length(start, end, end_field)


def check_period_length(start: date, end: date, field: str) -> None:
    """InvalidInput naming `field` when `[start, end]` lasts more than MAX_PERIOD_YEARS."""
    if end >= _years_from(start, MAX_PERIOD_YEARS):
        raise InvalidInput(
            _("a period lasts at most %(years)s years (%(start)s to %(end)s given)")
            % {"years": MAX_PERIOD_YEARS, "start": format_date(start), "end": format_date(end)},
            field=field,
        )


def check_not_ahead(day: date, field: str, *, today: date, dry_run: bool) -> date:
    """A run that writes works on today or a past day only: invoices and reminders are never
    made ahead of time (numbers follow the calendar). A dry run may look ahead."""
    if not dry_run and day > today:
        raise InvalidInput(
            _(
                "%(date)s is after today (%(today)s): a run that issues or sends works on today "
                "or a past day only; to see what that day will do, make it a dry run"
            )
            % {"date": format_date(day), "today": format_date(today)},
            field=field,
        )
    return day
