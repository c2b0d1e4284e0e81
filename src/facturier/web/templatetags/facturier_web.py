"""Template filters: amounts and dates the French way (or English, with the language switch).

``{% load facturier_web %}`` then ``{{ invoice.total_gross|amount:invoice.currency }}`` →
"1 234,56 €", ``{{ invoice.issue_date|day }}`` → "28/11/2026". Empty values show "—".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.forms import BoundField
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy

from facturier.core.money import (
    CURRENCY_SYMBOLS,
    NBSP,
    exponent,
    format_amount,
    format_date,
    format_decimal_fr,
)
from facturier.web.forms.common import shown_places

register = template.Library()

EMPTY = "—"


def _locale() -> str:
    return "en" if (get_language() or "fr").startswith("en") else "fr"


@register.filter
def amount(value: Any, currency: str = "EUR") -> str:
    if value is None or value == "":
        return EMPTY
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_amount(number, currency or "EUR", locale=_locale())


def _decimal(value: Any) -> Decimal | None:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _digits(value: Decimal, places: int) -> str:
    """The digits of a non-negative `value` with `places` decimals, grouped."""
    if _locale() == "fr":
        return format_decimal_fr(value, places)
    return format(value, f",.{places}f")


@register.filter
def quantity(value: Any) -> str:
    """A quantity without trailing zeros: "2,5", "1", "0,125" (not "2,5000")."""
    if value is None or value == "":
        return EMPTY
    number = _decimal(value)
    if number is None:
        return str(value)
    sign = "-" if number < 0 else ""
    return sign + _digits(abs(number), shown_places(number))


@register.filter
def price(value: Any, currency: str = "EUR") -> str:
    """A unit price: an amount with the currency's decimals, more only when the price has
    them ("10,00 €", "0,125 €" — never rounded to the cent, never "0,125000 €")."""
    if value is None or value == "":
        return EMPTY
    number = _decimal(value)
    currency = currency or "EUR"
    if number is None:
        return str(value)
    places = shown_places(number, exponent(currency))
    if places <= exponent(currency):
        return format_amount(number, currency, locale=_locale())
    sign = "-" if number < 0 else ""
    digits = _digits(abs(number), places)
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    if _locale() == "fr":
        return f"{sign}{digits}{NBSP}{symbol}"
    prefix = symbol if currency in CURRENCY_SYMBOLS else symbol + NBSP
    return f"{sign}{prefix}{digits}"


# The reasons the billing run records in its ledger (billing_plan, billing_run), in English:
# shown in the page's language. Other reasons are a service's own message, shown as recorded.
RUN_REASONS = {
    "paused": pgettext_lazy("billing run reason", "paused"),
    "lines to confirm": pgettext_lazy("billing run reason", "lines to confirm"),
    "review before issue": pgettext_lazy("billing run reason", "review before issue"),
    "awaiting approval": pgettext_lazy("billing run reason", "awaiting approval"),
}


# Who did something, as recorded (an account name, or one of the system's own names): shown
# as a person reads it. A member's username is shown as it is.
SYSTEM_ACTORS = {
    "billing-run": pgettext_lazy("actor", "Automatic billing"),
    "dunning-pass": pgettext_lazy("actor", "Automatic reminders"),
    "demo": pgettext_lazy("actor", "Demo data"),
    "system": pgettext_lazy("actor", "System"),
}


@register.filter
def actor(value: str) -> str:
    """Who, in words: billing-run → "Automatic billing"; cli:anne → "Command line (anne)";
    a worker's host:pid → "Worker (host:pid)"; web:olivia → "olivia"; a username as is."""
    value = str(value or "")
    if value in SYSTEM_ACTORS:
        return str(SYSTEM_ACTORS[value])
    kind, _sep, rest = value.partition(":")
    if kind == "cli" and rest:
        return str(pgettext_lazy("actor", "Command line (%(account)s)")) % {"account": rest}
    if kind == "web" and rest:
        return rest
    if rest.isdigit():  # a worker process: host:pid
        return str(pgettext_lazy("actor", "Worker (%(process)s)")) % {"process": value}
    return value or EMPTY


@register.filter
def run_reason(value: str) -> str:
    return str(RUN_REASONS.get(value, value))


@register.filter
def day(value: date | datetime | None) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_date(value, locale=_locale())


@register.filter
def moment(value: datetime | None) -> str:
    """A date and time in the site's zone: "28/11/2026 14:05"."""
    if value is None:
        return EMPTY
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_date(local.date(), locale=_locale())} {local:%H:%M}"


@register.filter
def percent(value: Any) -> str:
    if value is None:
        return EMPTY
    text = f"{Decimal(str(value)):.1f}"
    return (text.replace(".", ",") if _locale() == "fr" else text) + "\u00a0%"


@register.filter
def field_type(field: BoundField) -> str:
    """The widget's class name in lower case, for CSS ("checkboxinput", "select"...)."""
    return type(field.field.widget).__name__.lower()
