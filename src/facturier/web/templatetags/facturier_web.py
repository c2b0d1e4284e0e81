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
from django.utils.translation import get_language

from facturier.core.money import format_amount, format_date

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
