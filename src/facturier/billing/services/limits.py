"""What the database columns can hold, checked by the services before anything is written.

A DecimalField stores at most `max_digits` digits, `places` of them after the point: SQLite
stores a larger value anyway and every later read fails with decimal.InvalidOperation, and
PostgreSQL refuses the write with a DataError. Text columns have a maximum length the same
way. So each service checks its input here first and refuses with InvalidInput naming the
field, and a refusal changes nothing. The messages are translated: examples are in
tests/billing/test_input_limits.py, not here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TypedDict

from django.utils.translation import gettext as _

from facturier.billing.services.errors import InvalidInput

__all__ = [
    "AMOUNT",
    "QUANTITY",
    "UNIT_PRICE",
    "Digits",
    "check_decimal",
    "check_size",
    "check_text",
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


def check_text(value: str, field: str, *, max_length: int) -> str:
    """The text unchanged, or InvalidInput when the column cannot hold it."""
    if len(value) > max_length:
        raise InvalidInput(
            _("at most %(max)s characters (%(given)s given)")
            % {"max": max_length, "given": len(value)},
            field=field,
        )
    return value
